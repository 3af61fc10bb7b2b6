//! The send sheet: the picked files with their sizes, "Original" or
//! "Smaller (≈ N MB)", whether to remove location and camera data, and
//! "Send". Enter sends, Escape closes. File headers are read on a thread of
//! its own; the sheet fills in as they arrive.

use std::path::PathBuf;
use std::sync::mpsc;

use egui::RichText;

use crate::intent::Intent;
use crate::look::{ERROR_COLOR, human_size};
use crate::media::privacy::{self, Inspected};
use crate::t;

/// One file on the sheet.
pub struct SheetItem {
    pub path: PathBuf,
    pub name: String,
    /// `None` while its header is being read.
    pub info: Option<Result<Inspected, String>>,
}

pub struct SendSheet {
    pub items: Vec<SheetItem>,
    pub smaller: bool,
    inspected: mpsc::Receiver<(usize, Result<Inspected, String>)>,
}

impl SendSheet {
    /// Lists `paths` and starts reading their headers off the UI thread.
    pub fn open(paths: Vec<PathBuf>, repaint: crate::repaint::Repaint) -> Self {
        let (tx, rx) = mpsc::sync_channel(paths.len().max(1));
        let items = paths
            .iter()
            .map(|path| SheetItem {
                name: path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                ),
                path: path.clone(),
                info: None,
            })
            .collect();
        let spawned = std::thread::Builder::new()
            .name("snapwire-inspect".into())
            .spawn(move || {
                for (i, path) in paths.iter().enumerate() {
                    if tx.send((i, privacy::inspect(path))).is_err() {
                        return;
                    }
                    repaint();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot read file sizes for the send sheet");
        }
        Self {
            items,
            smaller: false,
            inspected: rx,
        }
    }

    /// Takes in the headers read so far.
    pub fn update(&mut self) {
        while let Ok((i, info)) = self.inspected.try_recv() {
            if let Some(item) = self.items.get_mut(i) {
                item.info = Some(info);
            }
        }
    }

    fn total(&self, smaller: bool) -> Option<u64> {
        self.items
            .iter()
            .filter_map(|item| match &item.info {
                None => Some(None),
                Some(Ok(info)) => Some(Some(if smaller { info.smaller } else { info.size })),
                Some(Err(_)) => None,
            })
            .sum()
    }

    /// Files that can be sent (a failed header still goes: the send path says why in the timeline).
    pub fn paths(&self) -> Vec<PathBuf> {
        self.items.iter().map(|i| i.path.clone()).collect()
    }
}

/// Draws the sheet over the room. `keep_metadata` is the remembered setting
/// behind "Remove location and camera data".
pub fn show(ui: &mut egui::Ui, sheet: &mut SendSheet, keep_metadata: &mut bool) -> Vec<Intent> {
    sheet.update();
    let mut choice = None;
    let modal = egui::Modal::new(egui::Id::unique("send-sheet")).show(ui.ctx(), |ui| {
        ui.set_width(460.0);
        let count = sheet.items.len();
        ui.heading(t!("send-sheet-title", count = count));
        ui.add_space(6.0);
        egui::ScrollArea::vertical()
            .max_height(220.0)
            .show(ui, |ui| {
                for item in &sheet.items {
                    ui.horizontal(|ui| {
                        ui.label(&item.name);
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            match &item.info {
                                None => ui.label(RichText::new(t!("image-reading")).weak()),
                                Some(Ok(info)) => ui.label(
                                    RichText::new(format!(
                                        "{} × {} · {}",
                                        info.width,
                                        info.height,
                                        human_size(info.size)
                                    ))
                                    .weak(),
                                ),
                                Some(Err(e)) => ui.colored_label(ERROR_COLOR, e.as_str()),
                            };
                        });
                    });
                }
            });
        ui.add_space(8.0);
        let total = |smaller| {
            sheet
                .total(smaller)
                .map_or_else(|| "…".to_owned(), human_size)
        };
        let (original, smaller) = (total(false), total(true));
        // Small JPEGs and GIFs go as they are even with "Smaller": say so instead of "≈ same".
        let nothing_shrinks =
            sheet.total(false).is_some() && sheet.total(false) == sheet.total(true);
        if nothing_shrinks {
            sheet.smaller = false;
        }
        ui.radio_value(
            &mut sheet.smaller,
            false,
            t!("send-sheet-original", size = original),
        );
        ui.add_enabled_ui(!nothing_shrinks, |ui| {
            let words = if nothing_shrinks {
                t!("send-sheet-smaller-already")
            } else {
                t!("send-sheet-smaller", size = smaller)
            };
            ui.radio_value(&mut sheet.smaller, true, words);
        });
        ui.add_space(4.0);
        let mut strip = !*keep_metadata;
        ui.checkbox(&mut strip, t!("send-sheet-strip"))
            .on_hover_text(t!("send-sheet-strip-hint"));
        *keep_metadata = !strip;
        ui.add_space(10.0);
        ui.horizontal(|ui| {
            let send = ui.add(
                egui::Button::new(RichText::new(t!("send-sheet-send")).strong())
                    .min_size(egui::vec2(90.0, 28.0)),
            );
            if send.clicked() {
                choice = Some(Intent::SendSheet);
            }
            if ui.button(t!("cancel")).clicked() {
                choice = Some(Intent::CloseSheet);
            }
            ui.label(RichText::new(t!("send-sheet-keys")).small().weak());
        });
        // Consumed, so the composer underneath does not also send its text.
        if ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Enter)) {
            choice = Some(Intent::SendSheet);
        }
    });
    if modal.should_close() && choice.is_none() {
        choice = Some(Intent::CloseSheet);
    }
    choice.into_iter().collect()
}
