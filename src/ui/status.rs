//! The status line, always visible in a room: connection state in words, who
//! is online, what this computer is hosting.

use std::time::Instant;

use egui::{Color32, RichText};

use crate::host::Hosted;
use crate::intent::Intent;
use crate::look::{ERROR_COLOR, OK_COLOR as OK, WAIT_COLOR as WAIT};
use crate::state::{ConnState, Model};
use crate::t;

/// What the status line shows.
pub struct StatusInput<'a> {
    pub model: &'a Model,
    /// Our own items not yet acked.
    pub pending: usize,
    /// The relay this computer hosts, if any.
    pub hosting: Option<&'a Hosted>,
    /// Desktop notifications while in the background (the "Notify" switch).
    pub notifications: bool,
    /// The web page's link to this room on the relay this computer hosts
    /// (`http://HOST:PORT/?room=R`): a phone opens it, or scans its QR code.
    pub join_link: Option<String>,
    /// The language setting (`None` follows the system), for its menu.
    pub language: Option<crate::i18n::Language>,
}

/// Pixels per QR module: a 33-module code with its quiet zone is ~164 px, which
/// a phone's camera reads from across a desk.
const QR_MODULE_PX: f32 = 4.0;
/// Light modules around the code, as the QR standard asks.
const QR_QUIET_ZONE: usize = 4;

/// The connection state as one line of words.
pub fn status_text(model: &Model, now: Instant) -> (Color32, String) {
    match &model.conn {
        ConnState::Idle => (WAIT, t!("status-not-connected")),
        ConnState::Connecting { attempt: 0 } => (WAIT, t!("status-connecting")),
        ConnState::Connecting { attempt } => (
            WAIT,
            t!("status-reconnecting-attempt", attempt = attempt + 1),
        ),
        ConnState::Connected => {
            let room = model.room.as_deref().unwrap_or("?");
            let mut names: Vec<String> = model
                .me
                .iter()
                .map(|m| t!("name-you", name = &m.name))
                .collect();
            let mut others: Vec<&str> = model.peers.iter().map(|p| p.name.as_str()).collect();
            others.sort_unstable();
            others.dedup();
            names.extend(others.iter().map(|s| (*s).to_owned()));
            let online = if model.peers.is_empty() {
                t!("status-alone", names = names.join(", "))
            } else {
                t!(
                    "status-online",
                    count = names.len(),
                    names = names.join(", ")
                )
            };
            (OK, t!("status-connected", room = room, online = online))
        }
        ConnState::Reconnecting { retry_at, reason } => {
            let secs = retry_at.saturating_duration_since(now).as_secs_f32().ceil() as u64;
            (
                WAIT,
                t!("status-reconnecting-in", secs = secs, reason = reason),
            )
        }
        ConnState::Stopped { reason } => (ERROR_COLOR, t!("status-disconnected", reason = reason)),
    }
}

pub fn show(ui: &mut egui::Ui, input: &StatusInput<'_>) -> Vec<Intent> {
    let mut intents = Vec::new();
    egui::Panel::top("status").show(ui, |ui| {
        ui.add_space(4.0);
        // Buttons first (right to left), then the status in what is left, cut
        // with "…" rather than running under them; the full text is in its tooltip.
        let row = egui::vec2(ui.available_width(), ui.spacing().interact_size.y);
        ui.allocate_ui_with_layout(
            row,
            egui::Layout::right_to_left(egui::Align::Center),
            |ui| {
                let leave = if input.hosting.is_some() {
                    t!("status-stop-hosting")
                } else {
                    t!("status-leave")
                };
                if ui.button(leave).clicked() {
                    intents.push(Intent::Leave);
                }
                let mut notify = input.notifications;
                if ui
                    .checkbox(&mut notify, t!("status-notify"))
                    .on_hover_text(t!("status-notify-hint"))
                    .changed()
                {
                    intents.push(Intent::Notifications(notify));
                }
                intents.extend(super::language::menu(ui, input.language, true));
                let pending = input.pending;
                if pending > 0 && input.model.conn != ConnState::Connected {
                    ui.label(
                        RichText::new(t!("status-waiting-to-send", count = pending)).color(WAIT),
                    );
                }
                ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                    let (color, text) = status_text(input.model, Instant::now());
                    let (dot, _) =
                        ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
                    ui.painter().circle_filled(dot.center(), 4.5, color);
                    ui.add(egui::Label::new(text.as_str()).truncate())
                        .on_hover_text(text);
                });
            },
        );
        if let Some(hosted) = input.hosting {
            let text = if hosted.bound.ip().is_loopback() {
                t!(
                    "status-hosting-loopback",
                    address = hosted.bound.to_string()
                )
            } else if hosted.addresses.is_empty() {
                t!("status-hosting-no-address", port = hosted.port.to_string())
            } else {
                let or = format!("  {}  ", t!("status-or"));
                t!("status-hosting", addresses = hosted.addresses.join(&or))
            };
            ui.label(RichText::new(text).strong());
        }
        if let Some(link) = &input.join_link {
            join_link_row(ui, link, &mut intents);
        }
        if let Some(error) = &input.model.last_error {
            ui.horizontal(|ui| {
                ui.colored_label(ERROR_COLOR, error);
                if ui.small_button("×").clicked() {
                    intents.push(Intent::DismissError);
                }
            });
        }
        ui.add_space(2.0);
    });
    intents
}

/// "Phones: LINK  [Copy link] [QR code]", and the QR code under it while shown.
/// Whether it is shown is this view's own state, kept in egui's memory.
fn join_link_row(ui: &mut egui::Ui, link: &str, intents: &mut Vec<Intent>) {
    let shown_id = ui.scope_id().with("join_qr_shown");
    let mut shown = ui.data(|d| d.get_temp::<bool>(shown_id)).unwrap_or(false);
    // Buttons first (right to left), so a narrow window cuts the link, not them.
    let row = egui::vec2(ui.available_width(), ui.spacing().interact_size.y);
    ui.allocate_ui_with_layout(
        row,
        egui::Layout::right_to_left(egui::Align::Center),
        |ui| {
            let label = if shown {
                t!("status-hide-qr")
            } else {
                t!("status-show-qr")
            };
            if ui.button(label).clicked() {
                shown = !shown;
            }
            if ui.button(t!("status-copy-link")).clicked() {
                intents.push(Intent::CopyText(link.to_owned()));
            }
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                ui.label(t!("status-phones"));
                ui.add(egui::Label::new(RichText::new(link).monospace()).truncate())
                    .on_hover_text(link);
            });
        },
    );
    ui.data_mut(|d| d.insert_temp(shown_id, shown));
    if shown {
        match snapwire_relay::join_link::JoinQr::new(link) {
            Ok(qr) => paint_qr(ui, &qr),
            Err(e) => {
                ui.colored_label(ERROR_COLOR, e.to_string());
            }
        }
    }
}

/// Dark modules on a white square, whatever the theme: cameras expect dark on light.
fn paint_qr(ui: &mut egui::Ui, qr: &snapwire_relay::join_link::JoinQr) {
    let side_modules = qr.width() + 2 * QR_QUIET_ZONE;
    let side = side_modules as f32 * QR_MODULE_PX;
    let (rect, response) = ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 0.0, Color32::WHITE);
    for y in 0..qr.width() {
        for x in 0..qr.width() {
            if qr.is_dark(x, y) {
                let min = rect.min
                    + egui::vec2(
                        (x + QR_QUIET_ZONE) as f32 * QR_MODULE_PX,
                        (y + QR_QUIET_ZONE) as f32 * QR_MODULE_PX,
                    );
                painter.rect_filled(
                    egui::Rect::from_min_size(min, egui::vec2(QR_MODULE_PX, QR_MODULE_PX)),
                    0.0,
                    Color32::BLACK,
                );
            }
        }
    }
    response.on_hover_text(t!("status-qr-hint"));
}
