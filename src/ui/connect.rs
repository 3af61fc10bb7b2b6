//! The connect view: relay address, name, room, token; or host a room here.

use egui::{Align, Color32, RichText};

use crate::app::SnapwireApp;

pub const ERROR_COLOR: Color32 = Color32::from_rgb(235, 90, 80);

pub fn show(ui: &mut egui::Ui, app: &mut SnapwireApp) {
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.add_space(24.0);
                if app.form.icon.is_none()
                    && let Some((w, h, rgba)) = crate::icon::pixels()
                {
                    let image =
                        egui::ColorImage::from_rgba_unmultiplied([w as usize, h as usize], &rgba);
                    app.form.icon = Some(ui.ctx().load_texture(
                        "snapwire-icon",
                        image,
                        egui::TextureOptions::LINEAR,
                    ));
                }
                if let Some(icon) = &app.form.icon {
                    ui.add(egui::Image::new((icon.id(), egui::vec2(72.0, 72.0))));
                }
                ui.heading(RichText::new("Snapwire").size(30.0).strong());
                ui.label("Share pictures with everyone on your network.");
                ui.add_space(16.0);
            });
            let width = ui.available_width().min(440.0);
            let margin = ((ui.available_width() - width) / 2.0).max(0.0);
            ui.horizontal(|ui| {
                ui.add_space(margin);
                ui.vertical(|ui| {
                    ui.set_max_width(width);
                    form(ui, app, width);
                });
            });
        });
    });
}

fn field(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut String,
    hint: &str,
    password: bool,
    width: f32,
) -> bool {
    let label = ui.label(label);
    let edit = egui::TextEdit::singleline(value)
        .hint_text(hint)
        .password(password)
        .desired_width(width);
    let response = ui.add(edit).labelled_by(label.id);
    response.changed()
}

fn error_line(ui: &mut egui::Ui, error: &Option<String>) {
    if let Some(e) = error {
        ui.colored_label(ERROR_COLOR, e);
    }
    ui.add_space(6.0);
}

fn form(ui: &mut egui::Ui, app: &mut SnapwireApp, width: f32) {
    let busy = app.form.hosting_starting;
    let mut changed = false;
    changed |= field(
        ui,
        "Relay address",
        &mut app.form.fields.server,
        "192.168.1.20 or relay.local:7600",
        false,
        width,
    );
    error_line(ui, &app.form.errors.server);
    changed |= field(
        ui,
        "Your name",
        &mut app.form.fields.name,
        "how others see you",
        false,
        width,
    );
    error_line(ui, &app.form.errors.name);
    changed |= field(ui, "Room", &mut app.form.fields.room, "lobby", false, width);
    error_line(ui, &app.form.errors.room);
    changed |= field(
        ui,
        "Access token (if the relay needs one)",
        &mut app.form.fields.token,
        "optional",
        true,
        width,
    );
    ui.add_space(8.0);
    if changed && app.form.tried {
        app.form.errors = match crate::settings::validate_form(&app.form.fields) {
            Ok(_) => Default::default(),
            Err(errors) => errors,
        };
    }
    let enter = ui.input(|i| i.key_pressed(egui::Key::Enter));
    ui.with_layout(egui::Layout::left_to_right(Align::Center), |ui| {
        let connect = ui.add_enabled(
            !busy,
            egui::Button::new(RichText::new("Connect").strong()).min_size(egui::vec2(120.0, 30.0)),
        );
        if connect.clicked() || (enter && !busy) {
            app.submit_form();
        }
    });

    found_relays(ui, app, width);

    ui.add_space(18.0);
    ui.separator();
    ui.add_space(10.0);
    ui.label(RichText::new("No relay yet?").strong());
    ui.label("Host a room on this computer: others on your network type the address it shows.");
    ui.add_space(4.0);
    let label = if busy {
        "Starting…"
    } else {
        "Host a room on this computer"
    };
    if ui
        .add_enabled(
            !busy,
            egui::Button::new(label).min_size(egui::vec2(120.0, 30.0)),
        )
        .clicked()
    {
        app.host_from_form();
    }
    if let Some(e) = &app.form.host_error {
        ui.colored_label(ERROR_COLOR, e);
    }
}

/// Relays seen on the LAN: one click joins (asking for a token first when the relay needs one).
fn found_relays(ui: &mut egui::Ui, app: &mut SnapwireApp, width: f32) {
    if app.form.found.relays.is_empty() {
        if app.discovering() {
            ui.add_space(10.0);
            let words = match &app.form.found.error {
                Some(e) => format!("Cannot look for relays on your network: {e}"),
                None => "Looking for relays on your network…".to_owned(),
            };
            ui.label(RichText::new(words).small().weak());
        }
        return;
    }
    ui.add_space(14.0);
    ui.label(RichText::new("Relays on your network").strong());
    ui.add_space(2.0);
    let mut join = None;
    for relay in &app.form.found.relays {
        let address = crate::discovery::typed_address(relay).unwrap_or_default();
        let mut text = format!("{}   {address}", relay.instance);
        if relay.needs_token {
            text.push_str("   · needs a token");
        }
        let button = egui::Button::new(text).min_size(egui::vec2(width, 28.0));
        if ui
            .add(button)
            .on_hover_text("Join this relay with your name and room")
            .clicked()
        {
            join = Some(relay.clone());
        }
    }
    if let Some(relay) = join {
        app.join_found(&relay);
    }
    if let Some(instance) = app.form.token_for.clone() {
        ui.add_space(6.0);
        ui.label(format!("“{instance}” needs an access token:"));
        let edit = egui::TextEdit::singleline(&mut app.form.fields.token)
            .id(egui::Id::unique("found-token"))
            .password(true)
            .hint_text("access token")
            .desired_width(width - 80.0);
        let response = ui
            .horizontal(|ui| {
                let r = ui.add(edit);
                let join = ui.button("Join").clicked();
                (r, join)
            })
            .inner;
        let (field, clicked) = response;
        if ui.memory(|m| m.focused().is_none()) {
            field.request_focus();
        }
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (clicked || entered) && !app.form.fields.token.trim().is_empty() {
            app.form.token_for = None;
            app.submit_form();
        }
    }
}
