//! The gallery: every image of the room in a grid, with sender and time.
//! Click opens the viewer; Ctrl+click or the checkbox selects, Shift+click
//! selects a range; "Save selected" / "Save all" write into a folder on
//! another thread. Only the rows on screen are laid out, and thumbnails come
//! from the timeline's texture cache (same keys, same sizes, same eviction).

use std::collections::BTreeSet;

use egui::{Color32, Rect, RichText, Sense, Stroke, StrokeKind, Vec2, pos2, vec2};

use crate::intent::Intent;
use crate::look::{format_time, user_color};
use crate::media::{self, MediaWorker, TexKey};
use crate::state::{EntryKey, Model};
use crate::t;
use crate::textures::{Look, TextureCache};

/// Thumbnail side and caption height, in points.
const THUMB: f32 = 160.0;
const CAPTION: f32 = 36.0;
const GAP: f32 = 10.0;
/// Longest file name shown in a caption.
const NAME_CHARS: usize = 26;

#[derive(Default)]
pub struct GalleryState {
    pub selected: BTreeSet<EntryKey>,
    /// Where a Shift+click range starts.
    anchor: Option<EntryKey>,
    /// Cells laid out in the last frame.
    pub cells_drawn: usize,
}

enum Click {
    Open(EntryKey),
    Toggle(EntryKey),
    Range(EntryKey),
}

/// What the gallery shows besides its own state.
pub struct GalleryInput<'a> {
    pub model: &'a Model,
    /// The viewable images, oldest first.
    pub keys: &'a [EntryKey],
    /// A save is running (the save buttons wait).
    pub saving: bool,
}

pub fn show(
    ui: &mut egui::Ui,
    input: &GalleryInput<'_>,
    state: &mut GalleryState,
    textures: &mut TextureCache,
    media: &MediaWorker,
) -> Vec<Intent> {
    let mut intents = Vec::new();
    let keys = input.keys;
    // Selections of images that left the room go with them.
    state.selected.retain(|k| keys.contains(k));
    let selected = state.selected.len();
    let saving = input.saving;

    ui.horizontal(|ui| {
        ui.label(RichText::new(t!("gallery-count", count = keys.len())).strong());
        ui.separator();
        if ui.button(t!("gallery-select-all")).clicked() {
            state.selected = keys.iter().copied().collect();
        }
        if ui
            .add_enabled(selected > 0, egui::Button::new(t!("gallery-select-none")))
            .clicked()
        {
            state.selected.clear();
        }
        ui.separator();
        let save_selected = t!("gallery-save-selected", count = selected);
        if ui
            .add_enabled(selected > 0 && !saving, egui::Button::new(save_selected))
            .on_hover_text(t!("gallery-save-hint"))
            .clicked()
        {
            let chosen: Vec<EntryKey> = keys
                .iter()
                .copied()
                .filter(|k| state.selected.contains(k))
                .collect();
            intents.push(Intent::SaveMany(chosen));
        }
        if ui
            .add_enabled(
                !keys.is_empty() && !saving,
                egui::Button::new(t!("gallery-save-all")),
            )
            .on_hover_text(t!("gallery-save-hint"))
            .clicked()
        {
            intents.push(Intent::SaveMany(keys.to_vec()));
        }
    });
    ui.label(RichText::new(t!("gallery-how-to-select")).small().weak());
    ui.add_space(4.0);

    if keys.is_empty() {
        ui.centered_and_justified(|ui| {
            ui.label(RichText::new(t!("gallery-empty")).weak());
        });
        return intents;
    }

    let width = ui.available_width();
    let columns = (((width + GAP) / (THUMB + GAP)).floor() as usize).max(1);
    let rows = keys.len().div_ceil(columns);
    let index_of: std::collections::HashMap<EntryKey, usize> = input
        .model
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.key, i))
        .collect();
    let mut clicks = Vec::new();
    let mut drawn = 0;
    let mut span: Option<(usize, usize)> = None;
    ui.spacing_mut().item_spacing = vec2(GAP, GAP);
    // Its own id: the timeline's scroll area sits in the same panel.
    egui::ScrollArea::vertical()
        .id_salt("gallery")
        .auto_shrink(false)
        .show_rows(ui, THUMB + CAPTION, rows, |ui, range| {
            for row in range {
                ui.horizontal(|ui| {
                    for key in keys.iter().skip(row * columns).take(columns) {
                        let entry_row = index_of.get(key).copied().unwrap_or(0);
                        span = Some(match span {
                            None => (entry_row, entry_row),
                            Some((a, b)) => (a.min(entry_row), b.max(entry_row)),
                        });
                        drawn += 1;
                        let selected = state.selected.contains(key);
                        let shown =
                            cell(ui, input.model, *key, entry_row, selected, textures, media);
                        if let Some(click) = shown {
                            clicks.push(click);
                        }
                    }
                });
            }
        });
    state.cells_drawn = drawn;
    if let Some((first, last)) = span {
        textures.evict(first, last, media);
    }

    for click in clicks {
        match click {
            Click::Open(key) => {
                state.anchor = Some(key);
                intents.push(Intent::Open(key));
            }
            Click::Toggle(key) => {
                if !state.selected.remove(&key) {
                    state.selected.insert(key);
                }
                state.anchor = Some(key);
            }
            Click::Range(key) => {
                let from = state
                    .anchor
                    .and_then(|a| keys.iter().position(|k| *k == a))
                    .unwrap_or(0);
                let to = keys.iter().position(|k| *k == key).unwrap_or(0);
                let (a, b) = (from.min(to), from.max(to));
                state.selected.extend(keys[a..=b].iter().copied());
            }
        }
    }
    intents
}

fn cell(
    ui: &mut egui::Ui,
    model: &Model,
    key: EntryKey,
    row: usize,
    selected: bool,
    textures: &mut TextureCache,
    media: &MediaWorker,
) -> Option<Click> {
    let (rect, response) = ui.allocate_exact_size(vec2(THUMB, THUMB + CAPTION), Sense::click());
    let entry = model.entry(key)?;
    let image = entry.image()?;
    let name = image.name().to_owned();
    let dims = image
        .meta
        .as_ref()
        .and_then(|m| Some((m.width?, m.height?)));
    let from = entry.from.clone();
    let ts = entry.ts;
    let data = media::entry_data(entry);

    // Widgets placed inside the cell must not move the row's cursor.
    let mut inner = ui.new_child(egui::UiBuilder::new().max_rect(rect));
    let ui = &mut inner;
    let thumb_rect = Rect::from_min_size(rect.min, Vec2::splat(THUMB));
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals().clone();
    painter.rect_filled(thumb_rect, 6.0, visuals.extreme_bg_color);

    // Same size as the timeline asks for, so both share one texture.
    let shown = super::bubble::display_size(dims, 360.0);
    let max_side = (shown.x.max(shown.y) * ui.ctx().pixels_per_point()).ceil() as u32;
    let texture = match textures.look(TexKey::Full(key), row, data, max_side, media) {
        Look::Texture(id, full) => Some((id, full)),
        _ => None,
    };
    match texture {
        Some((id, full)) => {
            // Square cells, filled: the middle of the image (the viewer shows all of it).
            let (w, h) = dims.unwrap_or((full[0], full[1]));
            let (w, h) = (w.max(1) as f32, h.max(1) as f32);
            let side = w.min(h);
            let half = vec2(side / w, side / h) / 2.0;
            let uv = Rect::from_min_max(pos2(0.5, 0.5) - half, pos2(0.5, 0.5) + half);
            egui::Image::new((id, thumb_rect.size()))
                .uv(uv)
                .corner_radius(6.0)
                .paint_at(ui, thumb_rect);
        }
        None => {
            ui.put(
                Rect::from_center_size(thumb_rect.center(), Vec2::splat(24.0)),
                egui::Spinner::new(),
            );
        }
    }
    if selected {
        painter.rect_filled(
            thumb_rect,
            6.0,
            visuals.selection.bg_fill.gamma_multiply(0.3),
        );
        painter.rect_stroke(
            thumb_rect,
            6.0,
            Stroke::new(3.0, visuals.selection.bg_fill),
            StrokeKind::Inside,
        );
    } else if response.hovered() {
        painter.rect_stroke(
            thumb_rect,
            6.0,
            visuals.widgets.hovered.bg_stroke,
            StrokeKind::Inside,
        );
    }

    // Caption: sender and time, then the file name.
    let caption = Rect::from_min_max(pos2(rect.left(), thumb_rect.bottom() + 3.0), rect.max);
    let mut x = caption.left();
    if let Some(user) = &from {
        let sender = painter.text(
            caption.left_top(),
            egui::Align2::LEFT_TOP,
            truncate(&user.name, 18),
            egui::FontId::proportional(13.0),
            user_color(&user.id),
        );
        x = sender.right() + 6.0;
    }
    painter.text(
        pos2(x, caption.top() + 1.0),
        egui::Align2::LEFT_TOP,
        format_time(ts),
        egui::FontId::proportional(11.0),
        visuals.weak_text_color(),
    );
    painter.text(
        caption.left_top() + vec2(0.0, 17.0),
        egui::Align2::LEFT_TOP,
        truncate(&name, NAME_CHARS),
        egui::FontId::proportional(11.0),
        visuals.weak_text_color(),
    );

    let label = name.clone();
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
    // The caption shows the name; a tooltip only when it had to be cut.
    let response = if name.chars().count() > NAME_CHARS {
        response.on_hover_text(&name)
    } else {
        response
    };

    // The checkbox sits on the thumbnail, above the cell (it gets its own clicks).
    let mut checked = selected;
    // Its dark backing is placed once the checkbox knows its own rect.
    let backing = painter.add(egui::Shape::Noop);
    let icon = ui.spacing().icon_width;
    let check = ui.put(
        Rect::from_min_size(thumb_rect.min + vec2(8.0, 8.0), Vec2::splat(icon)),
        egui::Checkbox::without_text(&mut checked),
    );
    painter.set(
        backing,
        egui::epaint::RectShape::filled(
            Rect::from_center_size(
                pos2(check.rect.left() + icon / 2.0, check.rect.center().y),
                Vec2::splat(icon + 8.0),
            ),
            4.0,
            Color32::from_black_alpha(140),
        ),
    );
    let check_label = t!("gallery-select-one", name = &name);
    check.widget_info(|| {
        egui::WidgetInfo::selected(egui::Role::CheckBox, true, checked, &check_label)
    });
    if check.clicked() {
        return Some(Click::Toggle(key));
    }
    if response.clicked() {
        let modifiers = ui.input(|i| i.modifiers);
        return Some(if modifiers.command || modifiers.ctrl {
            Click::Toggle(key)
        } else if modifiers.shift {
            Click::Range(key)
        } else {
            Click::Open(key)
        });
    }
    None
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}
