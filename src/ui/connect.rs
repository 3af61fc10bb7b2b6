//! The connect view: relay address, name, room, token; relays found on the
//! LAN; or host a room here. The form is this view's own state; the rules it
//! is checked by live in [`crate::settings`], applied by [`ConnectForm::check`]
//! (live while typing once Connect was pressed, and once more by the app
//! when it connects).

use egui::{Align, RichText};

use crate::discovery::FoundList;
use crate::intent::Intent;
use crate::look::ERROR_COLOR;
use crate::settings::{self, FormErrors, Settings, Target};
use crate::t;

/// The connect view's state: the form as typed and what it says about it.
#[derive(Default)]
pub struct ConnectForm {
    pub fields: Settings,
    pub errors: FormErrors,
    /// Set once Connect was pressed: from then on errors update as you type.
    pub tried: bool,
    pub host_error: Option<String>,
    /// A found relay that needs a token: the form asks for it before joining.
    pub token_for: Option<String>,
    /// The app icon, shown above the form (uploaded once).
    icon: Option<egui::TextureHandle>,
}

impl ConnectForm {
    pub fn new(fields: Settings) -> Self {
        Self {
            fields,
            ..Self::default()
        }
    }

    /// The form's rules, applied once: the target, or the errors shown under the fields.
    pub fn check(&mut self) -> Option<Target> {
        self.tried = true;
        match settings::validate_form(&self.fields) {
            Ok(target) => {
                self.errors = FormErrors::default();
                Some(target)
            }
            Err(errors) => {
                self.errors = errors;
                None
            }
        }
    }

    /// Hosting needs a name and a room only (the address is ours).
    pub fn check_identity(&mut self) -> Option<(String, String)> {
        self.tried = true;
        let name = settings::check_name(&self.fields.name);
        let room = settings::check_room(&self.fields.room);
        self.errors = FormErrors {
            server: None,
            name: name.clone().err(),
            room: room.clone().err(),
        };
        Some((name.ok()?, room.ok()?))
    }

    /// After "Leave", the form shows what we were connected with (the
    /// address only when it was not our own hosted relay).
    pub fn remember(&mut self, target: &Target, hosting: bool) {
        self.fields.name.clone_from(&target.name);
        self.fields.room.clone_from(&target.room);
        if !hosting {
            self.fields.server = target
                .url
                .trim_start_matches("ws://")
                .trim_end_matches("/ws")
                .to_owned();
            self.fields.token = target.token.clone().unwrap_or_default();
        }
    }

    /// Fills the form from a found relay; true when it can join now, false
    /// when it first asks for the relay's token.
    pub fn take_found(&mut self, relay: &crate::discovery::FoundRelay) -> bool {
        let Some(address) = crate::discovery::typed_address(relay) else {
            return false;
        };
        if self.fields.server != address {
            self.fields.token.clear();
        }
        self.fields.server = address;
        if let Some(room) = crate::discovery::room_of(&relay.instance) {
            self.fields.room = room;
        }
        if relay.needs_token && self.fields.token.trim().is_empty() {
            self.token_for = Some(relay.instance.clone());
            return false;
        }
        self.token_for = None;
        true
    }
}

/// What the connect view shows besides its form.
pub struct ConnectInput<'a> {
    /// Relays seen on the LAN (empty while discovery is off).
    pub found: &'a FoundList,
    /// Discovery is on (so "Looking for relays…" is worth saying).
    pub discovering: bool,
    /// The hosted relay is starting: the buttons wait.
    pub busy: bool,
}

pub fn show(ui: &mut egui::Ui, input: &ConnectInput<'_>, form: &mut ConnectForm) -> Vec<Intent> {
    let mut intents = Vec::new();
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.add_space(24.0);
                if form.icon.is_none()
                    && let Some((w, h, rgba)) = crate::icon::pixels()
                {
                    let image =
                        egui::ColorImage::from_rgba_unmultiplied([w as usize, h as usize], &rgba);
                    form.icon = Some(ui.ctx().load_texture(
                        "snapwire-icon",
                        image,
                        egui::TextureOptions::LINEAR,
                    ));
                }
                if let Some(icon) = &form.icon {
                    ui.add(egui::Image::new((icon.id(), egui::vec2(72.0, 72.0))));
                }
                ui.heading(RichText::new("Snapwire").size(30.0).strong());
                ui.label(t!("connect-tagline"));
                ui.add_space(6.0);
                intents.extend(super::language::menu(ui, form.fields.language(), false));
                ui.add_space(16.0);
            });
            let width = ui.available_width().min(440.0);
            let margin = ((ui.available_width() - width) / 2.0).max(0.0);
            ui.horizontal(|ui| {
                ui.add_space(margin);
                ui.vertical(|ui| {
                    ui.set_max_width(width);
                    form_fields(ui, input, form, width, &mut intents);
                });
            });
        });
    });
    intents
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

fn form_fields(
    ui: &mut egui::Ui,
    input: &ConnectInput<'_>,
    form: &mut ConnectForm,
    width: f32,
    intents: &mut Vec<Intent>,
) {
    let busy = input.busy;
    let mut changed = false;
    changed |= field(
        ui,
        &t!("connect-relay-address"),
        &mut form.fields.server,
        &t!("connect-relay-address-hint"),
        false,
        width,
    );
    error_line(ui, &form.errors.server);
    changed |= field(
        ui,
        &t!("connect-your-name"),
        &mut form.fields.name,
        &t!("connect-your-name-hint"),
        false,
        width,
    );
    error_line(ui, &form.errors.name);
    changed |= field(
        ui,
        &t!("connect-room"),
        &mut form.fields.room,
        "lobby",
        false,
        width,
    );
    error_line(ui, &form.errors.room);
    changed |= field(
        ui,
        &t!("connect-token"),
        &mut form.fields.token,
        &t!("connect-token-hint"),
        true,
        width,
    );
    ui.add_space(8.0);
    if changed && form.tried {
        form.check();
    }
    let enter = ui.input(|i| i.key_pressed(egui::Key::Enter));
    ui.with_layout(egui::Layout::left_to_right(Align::Center), |ui| {
        let connect = ui.add_enabled(
            !busy,
            egui::Button::new(RichText::new(t!("connect-button")).strong())
                .min_size(egui::vec2(120.0, 30.0)),
        );
        if connect.clicked() || (enter && !busy) {
            intents.push(Intent::Connect);
        }
    });

    found_relays(ui, input, form, width, intents);

    ui.add_space(18.0);
    ui.separator();
    ui.add_space(10.0);
    ui.label(RichText::new(t!("connect-no-relay")).strong());
    ui.label(t!("connect-host-explain"));
    ui.add_space(4.0);
    let label = if busy {
        t!("connect-host-starting")
    } else {
        t!("connect-host-button")
    };
    if ui
        .add_enabled(
            !busy,
            egui::Button::new(label).min_size(egui::vec2(120.0, 30.0)),
        )
        .clicked()
    {
        intents.push(Intent::Host);
    }
    if let Some(e) = &form.host_error {
        ui.colored_label(ERROR_COLOR, e);
    }
}

/// Relays seen on the LAN: one click joins (asking for a token first when the relay needs one).
fn found_relays(
    ui: &mut egui::Ui,
    input: &ConnectInput<'_>,
    form: &mut ConnectForm,
    width: f32,
    intents: &mut Vec<Intent>,
) {
    if input.found.relays.is_empty() {
        if input.discovering {
            ui.add_space(10.0);
            let words = match &input.found.error {
                Some(e) => t!("connect-discovery-failed", error = e),
                None => t!("connect-discovery-looking"),
            };
            ui.label(RichText::new(words).small().weak());
        }
        return;
    }
    ui.add_space(14.0);
    ui.label(RichText::new(t!("connect-found-heading")).strong());
    ui.add_space(2.0);
    for relay in &input.found.relays {
        let address = crate::discovery::typed_address(relay).unwrap_or_default();
        let mut text = format!("{}   {address}", relay.instance);
        if relay.needs_token {
            text.push_str("   · ");
            text.push_str(&t!("connect-found-needs-token"));
        }
        let button = egui::Button::new(text).min_size(egui::vec2(width, 28.0));
        if ui
            .add(button)
            .on_hover_text(t!("connect-found-join-hint"))
            .clicked()
        {
            intents.push(Intent::JoinFound(relay.clone()));
        }
    }
    if let Some(instance) = form.token_for.clone() {
        ui.add_space(6.0);
        ui.label(t!("connect-found-token-prompt", instance = instance));
        let edit = egui::TextEdit::singleline(&mut form.fields.token)
            .id(egui::Id::unique("found-token"))
            .password(true)
            .hint_text(t!("connect-found-token-hint"))
            .desired_width(width - 80.0);
        let response = ui
            .horizontal(|ui| {
                let r = ui.add(edit);
                let join = ui.button(t!("connect-found-join")).clicked();
                (r, join)
            })
            .inner;
        let (field, clicked) = response;
        if ui.memory(|m| m.focused().is_none()) {
            field.request_focus();
        }
        let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if (clicked || entered) && !form.fields.token.trim().is_empty() {
            form.token_for = None;
            intents.push(Intent::Connect);
        }
    }
}
