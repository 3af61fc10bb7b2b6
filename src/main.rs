#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]
//! The `snapwire` binary: flags, logging, window, and the app from the library.

use std::sync::{Arc, OnceLock};

use clap::Parser;
use snapwire::cli::{Cli, Launch};
use snapwire::settings::{self, Paths};
use snapwire::single_instance::{self, Claim, Handoff};
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
    snapwire::i18n::set_language(snapwire::i18n::resolve(cli.lang, saved.language()));
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
    // One window per home: a later launch hands its files to it and exits.
    let ctx: Arc<OnceLock<egui::Context>> = Arc::new(OnceLock::new());
    let repaint: snapwire::repaint::Repaint = {
        let ctx = Arc::clone(&ctx);
        Arc::new(move || {
            if let Some(ctx) = ctx.get() {
                ctx.request_repaint();
            }
        })
    };
    let handoff = Handoff {
        files: single_instance::absolute(&cli.files),
        yes: cli.yes,
    };
    let handoffs = match single_instance::claim(&paths.instance_socket, &handoff, repaint) {
        Claim::HandedOver => {
            eprintln!(
                "snapwire: handed {} file(s) to the Snapwire window already open",
                handoff.files.len()
            );
            if !matches!(launch, Launch::ConnectView) {
                eprintln!("snapwire: that window keeps its own room; the room flags were not used");
            }
            return Ok(());
        }
        Claim::First(handoffs) => Some(handoffs),
        Claim::Alone => None,
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
        Box::new(move |cc| {
            let _ = ctx.set(cc.egui_ctx.clone());
            let mut app = SnapwireApp::new(AppOptions::native(paths, launch));
            if let Some(handoffs) = handoffs {
                app.accept_handoffs(handoffs);
            }
            app.suggest_name(suggested);
            app.notifier = snapwire::notify::desktop();
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
