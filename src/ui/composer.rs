//! The composer: "Send images…", the text box (Enter sends, Shift+Enter adds a
//! line), and the overlay shown while files are dragged over the window.

use std::path::PathBuf;
use std::sync::Arc;

use egui::{Key, Modifiers, RichText};

use crate::intent::Intent;
use crate::t;

pub const TEXT_BOX_ID: &str = "composer-text";

/// The composer's own state: the text being written and a short message under it.
#[derive(Default)]
pub struct Composer {
    pub text: String,
    /// A short message under the composer (no dialog, too long…).
    pub hint: Option<String>,
}

/// `picking`: the file dialog is open (its button waits).
pub fn show(ui: &mut egui::Ui, composer: &mut Composer, picking: bool) -> Vec<Intent> {
    let mut intents = Vec::new();
    egui::Panel::bottom("composer").show(ui, |ui| {
        ui.add_space(6.0);
        if let Some(hint) = &composer.hint {
            ui.label(RichText::new(hint).italics());
        }
        let id = egui::Id::unique(TEXT_BOX_ID);
        // Enter without modifiers sends; Shift+Enter reaches the text box as a newline.
        let focused = ui.memory(|m| m.has_focus(id));
        // (`consume_key` would also match Shift+Enter: it ignores Shift.)
        let enter = focused
            && ui.input_mut(|i| {
                let before = i.events.len();
                i.events.retain(|e| {
                    !matches!(e, egui::Event::Key { key: Key::Enter, pressed: true, modifiers, .. }
                        if *modifiers == Modifiers::NONE)
                });
                before != i.events.len()
            });
        ui.horizontal(|ui| {
            let label = if picking {
                t!("composer-choosing")
            } else {
                t!("composer-send-images")
            };
            if ui
                .add_enabled(!picking, egui::Button::new(label))
                .on_hover_text(t!("composer-send-images-hint"))
                .clicked()
            {
                intents.push(Intent::PickFiles);
            }
            let send_width = 60.0;
            let edit = egui::TextEdit::multiline(&mut composer.text)
                .id(id)
                .hint_text(t!("composer-message-hint"))
                .desired_rows(1)
                .desired_width(ui.available_width() - send_width - 8.0);
            ui.add(edit);
            if ui
                .add_sized([send_width, 24.0], egui::Button::new(t!("composer-send")))
                .clicked()
                || enter
            {
                let text = composer.text.trim_end();
                if !text.trim().is_empty() {
                    intents.push(Intent::SendText(text.to_owned()));
                }
                ui.memory_mut(|m| m.request_focus(id));
            }
        });
        ui.add_space(6.0);
    });
    intents
}

/// Files dropped on the window, images pasted, files copied and pasted: taken
/// out of this frame's input (so the text box does not also get them).
pub fn take_dropped_and_pasted(ctx: &egui::Context) -> Vec<Intent> {
    let dropped: Vec<PathBuf> = ctx.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
            .collect()
    });
    let (images, paths) = ctx.input_mut(|i| {
        let mut images = Vec::new();
        let mut paths = Vec::new();
        i.events.retain(|event| match event {
            egui::Event::PasteImage(image) => {
                images.push(Arc::clone(image));
                false
            }
            egui::Event::Paste(text) => match crate::picker::pasted_paths(text) {
                Some(found) => {
                    paths.extend(found);
                    false
                }
                None => true,
            },
            _ => true,
        });
        (images, paths)
    });
    let mut intents = Vec::new();
    if !dropped.is_empty() {
        intents.push(Intent::OfferFiles(dropped));
    }
    if !paths.is_empty() {
        intents.push(Intent::OfferFiles(paths));
    }
    intents.extend(images.into_iter().map(Intent::SendPasted));
    intents
}

/// Dims the window and says what dropping does, while files hover over it.
pub fn drop_overlay(ui: &mut egui::Ui) {
    let hovering = ui.input(|i| !i.raw.hovered_files.is_empty());
    if !hovering {
        return;
    }
    let rect = ui.ctx().content_rect();
    let painter = ui.ctx().layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop"),
    ));
    painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(170));
    painter.text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        t!("composer-drop"),
        egui::FontId::proportional(26.0),
        egui::Color32::WHITE,
    );
}
