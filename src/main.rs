#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]
//! The `snapwire` binary: flags, logging, window, and the app from the library.

use clap::Parser;
use snapwire::cli::{Cli, Launch};
use snapwire::settings::{self, Paths};
use snapwire::{AppOptions, SnapwireApp};

fn window_icon() -> Option<egui::IconData> {
    let (width, height, rgba) = snapwire::icon::pixels()?;
    Some(egui::IconData {
        width,
        height,
        rgba,
    })
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,wgpu=warn,naga=warn,eframe=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let paths = Paths::from_env().ok_or_else(|| {
        anyhow::anyhow!("no home directory to keep settings in; set SNAPWIRE_HOME")
    })?;
    let mut saved = settings::load(&paths.settings_file);
    let suggested = snapwire::identity::system_user_name();
    if saved.name.trim().is_empty() {
        // First run: `--host` alone works too.
        saved.name = suggested.clone().unwrap_or_default();
    }
    let launch = match cli.launch(&saved) {
        Ok(launch) => launch,
        Err(e) => {
            eprintln!("snapwire: {e}");
            std::process::exit(2);
        }
    };
    let title = match &launch {
        Launch::ConnectView => "Snapwire".to_owned(),
        Launch::Connect(t) => format!("Snapwire — {}", t.room),
        Launch::Host { room, .. } => format!("Snapwire — {room}"),
    };
    let mut viewport = egui::ViewportBuilder::default()
        .with_title(title)
        .with_app_id("snapwire")
        .with_inner_size([900.0, 700.0])
        .with_min_inner_size([420.0, 360.0])
        .with_drag_and_drop(true);
    if let Some(icon) = window_icon() {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "snapwire",
        options,
        Box::new(move |_cc| {
            let mut app = SnapwireApp::new(AppOptions::native(paths, launch));
            app.suggest_name(suggested);
            if !cli.no_discovery {
                app.start_discovery(snapwire::discovery::mdns());
                app.hosting.advertise = true;
            }
            app.open_files(cli.files, cli.yes);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("could not open the window: {e}"))
}
