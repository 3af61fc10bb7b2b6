//! The chat timeline: newest at the bottom, pinned there while you are there,
//! a "new messages ⬇" button when you scrolled up. Only the rows that
//! intersect the viewport are laid out; the others count with their last
//! measured (or estimated) height, so thousands of rows cost little per frame.

use std::collections::HashMap;

use egui::{Align, Color32, Layout, Rect, RichText, Sense, UiBuilder, Vec2, vec2};

use crate::media::{Data, MediaWorker, TexKey, human_size};
use crate::state::{Body, Entry, EntryKey, ImageItem, ImageState, Model};
use crate::textures::{Slot, TextureCache};

const ROW_GAP: f32 = 6.0;
const MAX_IMAGE: Vec2 = vec2(360.0, 280.0);
const MIN_IMAGE_SIDE: f32 = 48.0;
const UNKNOWN_IMAGE: Vec2 = vec2(240.0, 160.0);

pub struct TimelineState {
    heights: HashMap<EntryKey, f32>,
    /// Measured widths of our own bubbles, to place them against the right edge.
    widths: HashMap<EntryKey, f32>,
    width: f32,
    seen_appended: u64,
    /// Entries that arrived while scrolled up.
    pub unseen: u64,
    /// Jump to the newest entry on the next frame.
    pub scroll_to_bottom: bool,
    /// Bring this entry to the top of the view on the next frame (the first image
    /// that arrived while the window was in the background).
    pub scroll_to: Option<EntryKey>,
    pub at_bottom: bool,
    /// Following the newest entry (the view is placed at the end each frame).
    pinned: bool,
    /// Height of the visible area in the last frame.
    view_height: f32,
    /// Rows laid out in the last frame (the rest were skipped).
    pub rows_drawn: usize,
    /// Index of the first row on screen in the last frame.
    pub first_visible: usize,
}

impl Default for TimelineState {
    fn default() -> Self {
        Self {
            heights: HashMap::new(),
            widths: HashMap::new(),
            width: 0.0,
            seen_appended: 0,
            unseen: 0,
            scroll_to_bottom: false,
            scroll_to: None,
            at_bottom: true,
            pinned: true,
            view_height: 0.0,
            rows_drawn: 0,
            first_visible: 0,
        }
    }
}

/// What a click in the timeline asks the app to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Cancel(String),
    /// Show this image in the viewer.
    Open(EntryKey),
    Save(EntryKey),
    CopyImage(EntryKey),
    CopyText(String),
}

/// The size an image is shown at: fits the box, keeps the aspect ratio, never tiny.
pub fn display_size(dims: Option<(u32, u32)>, max_width: f32) -> Vec2 {
    let Some((w, h)) = dims.filter(|(w, h)| *w > 0 && *h > 0) else {
        return UNKNOWN_IMAGE;
    };
    let (w, h) = (w as f32, h as f32);
    let max = vec2(MAX_IMAGE.x.min(max_width), MAX_IMAGE.y);
    let scale = (max.x / w).min(max.y / h).min(1.0);
    let size = vec2(w * scale, h * scale);
    vec2(size.x.max(MIN_IMAGE_SIDE), size.y.max(MIN_IMAGE_SIDE))
}

fn dims(
    image: &ImageItem,
    textures: &mut TextureCache,
    key: EntryKey,
    row: usize,
) -> Option<(u32, u32)> {
    if let Some(meta) = &image.meta
        && let (Some(w), Some(h)) = (meta.width, meta.height)
    {
        return Some((w, h));
    }
    match textures.get(TexKey::Full(key), row) {
        Some(Slot::Ready { full, .. }) => Some((full[0], full[1])),
        _ => None,
    }
}

/// A width good enough to place an own bubble before it was measured (no jump
/// in most cases; corrected the next frame otherwise).
fn first_width(entry: &Entry, bubble_max: f32) -> f32 {
    let content = match &entry.body {
        Body::Text { text, .. } => {
            let longest = text.lines().map(|l| l.chars().count()).max().unwrap_or(0);
            (longest as f32 * 7.0).max(150.0)
        }
        Body::Image(image) => {
            let d = image.meta.as_ref().and_then(|m| m.width.zip(m.height));
            display_size(d, bubble_max - 20.0).x
        }
        Body::Notice(_) => bubble_max,
    };
    content.min(bubble_max) + 20.0
}

/// A height good enough to place rows never laid out yet.
fn estimate(entry: &Entry, bubble_max: f32) -> f32 {
    match &entry.body {
        Body::Notice(_) => 22.0,
        Body::Text { text, .. } => {
            let per_line = ((bubble_max - 20.0) / 7.5).max(10.0);
            let lines: f32 = text
                .split('\n')
                .map(|l| (l.chars().count() as f32 / per_line).ceil().max(1.0))
                .sum();
            20.0 + lines * 18.0 + 36.0
        }
        Body::Image(image) => {
            let d = image.meta.as_ref().and_then(|m| m.width.zip(m.height));
            20.0 + display_size(d, bubble_max - 20.0).y + 66.0
        }
    }
}

pub fn show(
    ui: &mut egui::Ui,
    model: &Model,
    state: &mut TimelineState,
    textures: &mut TextureCache,
    media: &MediaWorker,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let width = ui.available_width();
    if (width - state.width).abs() > 1.0 {
        state.heights.clear();
        state.widths.clear();
        state.width = width;
    }
    let bubble_max = (width * 0.75).clamp(220.0, 560.0);

    if model.entries.is_empty() {
        ui.centered_and_justified(|ui| {
            ui.label(
                RichText::new(
                    "No pictures yet.\nSend some with “Send images…”, drop files here, or paste with Ctrl+V.",
                )
                .weak(),
            );
        });
        state.seen_appended = model.appended;
        return actions;
    }

    let heights: Vec<f32> = model
        .entries
        .iter()
        .map(|e| {
            state
                .heights
                .get(&e.key)
                .copied()
                .unwrap_or_else(|| estimate(e, bubble_max))
        })
        .collect();
    let total: f32 = heights.iter().sum::<f32>() + ROW_GAP * heights.len() as f32;
    let jump = std::mem::take(&mut state.scroll_to_bottom);

    let mut area = egui::ScrollArea::vertical()
        .auto_shrink(false)
        .stick_to_bottom(true);
    // Pinned to the bottom: we place the view ourselves every frame, so rows
    // that grow when measured or decoded never leave it short of the end.
    // (egui's stick-to-end loses the bottom when a row grows during an
    // animated scroll.) A wheel or drag that moves it up unpins it.
    // An entry to bring into view wins over following the end; the offset uses
    // estimated heights for rows never drawn, so it is close, not exact.
    let target = state.scroll_to.take().and_then(|key| {
        let index = model.entries.iter().position(|e| e.key == key)?;
        let above: f32 = heights[..index].iter().sum::<f32>() + ROW_GAP * index as f32;
        Some(above.min((total - state.view_height).max(0.0)))
    });
    let wanted = if target.is_some() {
        None
    } else {
        (state.pinned || jump).then(|| (total - state.view_height).max(0.0))
    };
    if let Some(offset) = target.or(wanted) {
        area = area.vertical_scroll_offset(offset);
    }
    let output = area.show_viewport(ui, |ui, viewport| {
        ui.set_height(total);
        let origin = ui.max_rect().min;
        let mut y = 0.0;
        let mut first = None;
        let mut last = 0;
        let mut drawn = 0;
        let mut remeasured = false;
        for (row, (entry, h)) in model.entries.iter().zip(&heights).enumerate() {
            let visible = y + h >= viewport.min.y && y <= viewport.max.y;
            if visible {
                first.get_or_insert(row);
                last = row;
                drawn += 1;
                let rect = Rect::from_min_size(origin + vec2(0.0, y), vec2(width, *h));
                let inner = ui.scope_builder(UiBuilder::new().max_rect(rect), |ui| {
                    draw_row(
                        ui,
                        &mut state.widths,
                        entry,
                        row,
                        bubble_max,
                        textures,
                        media,
                        &mut actions,
                    );
                });
                let measured = inner.response.rect.height();
                if (measured - h).abs() > 0.5 {
                    state.heights.insert(entry.key, measured);
                    remeasured = true;
                }
            }
            y += h + ROW_GAP;
        }
        if remeasured {
            ui.ctx().request_repaint();
        }
        state.rows_drawn = drawn;
        (first.unwrap_or(0), last)
    });
    let (first, last) = output.inner;
    state.first_visible = first;
    textures.evict(first, last, media);

    let offset = output.state.clamped_offset().y;
    let view_bottom = offset + output.inner_rect.height();
    state.view_height = output.inner_rect.height();
    state.at_bottom = view_bottom >= output.content_size.y - 8.0;
    state.pinned = match wanted {
        Some(w) => offset >= w - 1.0,
        None => state.at_bottom,
    };
    state.at_bottom |= state.pinned;
    let new = model.appended.saturating_sub(state.seen_appended);
    state.seen_appended = model.appended;
    if state.at_bottom || jump {
        state.unseen = 0;
    } else {
        state.unseen += new;
    }
    if state.unseen > 0 {
        let label = format!("{} new ⬇", state.unseen);
        let size = vec2(130.0, 28.0);
        let rect =
            Rect::from_center_size(output.inner_rect.center_bottom() - vec2(0.0, size.y), size);
        let button = egui::Button::new(RichText::new(label).strong())
            .fill(ui.visuals().selection.bg_fill)
            .corner_radius(14.0);
        if ui.put(rect, button).on_hover_text("new messages").clicked() {
            state.scroll_to_bottom = true;
            ui.ctx().request_repaint();
        }
    }
    actions
}

fn bubble_fill(ui: &egui::Ui, own: bool) -> Color32 {
    let v = ui.visuals();
    if own {
        v.selection.bg_fill.gamma_multiply(0.35)
    } else {
        v.faint_bg_color
            .gamma_multiply(1.0)
            .lerp_to_gamma(v.extreme_bg_color, 0.5)
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_row(
    ui: &mut egui::Ui,
    widths: &mut HashMap<EntryKey, f32>,
    entry: &Entry,
    row: usize,
    bubble_max: f32,
    textures: &mut TextureCache,
    media: &MediaWorker,
    actions: &mut Vec<Action>,
) {
    if let Body::Notice(text) = &entry.body {
        ui.vertical_centered(|ui| {
            ui.label(
                RichText::new(format!("{text} · {}", super::format_time(entry.ts)))
                    .small()
                    .weak(),
            );
        });
        return;
    }
    // Own bubbles hug the right edge: placed by the width measured last frame
    // (content-sized, as a left-aligned frame is), full width the first time.
    let full = ui.max_rect();
    let left = match (entry.own, widths.get(&entry.key)) {
        (true, Some(w)) => (full.right() - w).max(full.left()),
        (true, None) => (full.right() - first_width(entry, bubble_max)).max(full.left()),
        (false, _) => full.left(),
    };
    let rect = Rect::from_min_max(egui::pos2(left, full.top()), full.right_bottom());
    let inner = ui.scope_builder(
        UiBuilder::new()
            .max_rect(rect)
            .layout(Layout::top_down(Align::Min)),
        |ui| {
            egui::Frame::new()
                .fill(bubble_fill(ui, entry.own))
                .corner_radius(10.0)
                .inner_margin(egui::Margin::symmetric(10, 8))
                .show(ui, |ui| {
                    ui.set_max_width(bubble_max);
                    header(ui, entry);
                    match &entry.body {
                        Body::Text { text, failed } => {
                            ui.add(egui::Label::new(text.as_str()).wrap())
                                .on_hover_text("Right-click to copy")
                                .context_menu(|ui| {
                                    if ui.button("Copy text").clicked() {
                                        actions.push(Action::CopyText(text.clone()));
                                    }
                                });
                            footer_text(ui, entry, failed.as_deref());
                        }
                        Body::Image(image) => {
                            draw_image(
                                ui,
                                entry,
                                image,
                                row,
                                bubble_max - 20.0,
                                textures,
                                media,
                                actions,
                            );
                        }
                        Body::Notice(_) => {}
                    }
                })
                .response
                .rect
                .width()
        },
    );
    if entry.own {
        let measured = inner.inner;
        if widths
            .get(&entry.key)
            .is_none_or(|w| (w - measured).abs() > 0.5)
        {
            widths.insert(entry.key, measured);
            ui.ctx().request_repaint();
        }
    }
}

fn header(ui: &mut egui::Ui, entry: &Entry) {
    ui.horizontal(|ui| {
        if let Some(from) = &entry.from {
            let name = if entry.own {
                format!("{} (you)", from.name)
            } else {
                from.name.clone()
            };
            ui.label(
                RichText::new(name)
                    .strong()
                    .color(super::user_color(&from.id)),
            );
        }
        ui.label(RichText::new(super::format_time(entry.ts)).small().weak());
    });
}

fn receipts_text(entry: &Entry) -> String {
    if entry.receipts.is_empty() {
        return String::new();
    }
    let mut names: Vec<&str> = entry.receipts.iter().map(|u| u.name.as_str()).collect();
    names.dedup();
    format!(" · seen by {}", names.join(", "))
}

fn footer_text(ui: &mut egui::Ui, entry: &Entry, failed: Option<&str>) {
    if !entry.own {
        return;
    }
    if let Some(why) = failed {
        ui.colored_label(super::connect::ERROR_COLOR, format!("not sent: {why}"));
    } else if entry.seq.is_none() {
        ui.label(RichText::new("sending…").small().weak());
    } else {
        ui.label(
            RichText::new(format!("✔ sent{}", receipts_text(entry)))
                .small()
                .weak(),
        );
    }
}

/// What the cache holds for one texture, copied out so the cache can be asked again.
enum Look {
    Texture(egui::TextureId),
    Failed(String),
    Loading,
    Missing,
}

#[allow(clippy::too_many_arguments)]
fn draw_image(
    ui: &mut egui::Ui,
    entry: &Entry,
    image: &ImageItem,
    row: usize,
    max_width: f32,
    textures: &mut TextureCache,
    media: &MediaWorker,
    actions: &mut Vec<Action>,
) {
    let key = entry.key;
    let failed = match &image.state {
        ImageState::Failed(why) | ImageState::Cancelled(why) => Some(why.as_str()),
        _ => None,
    };
    if let Some(why) = failed {
        let color = if matches!(image.state, ImageState::Failed(_)) {
            super::connect::ERROR_COLOR
        } else {
            ui.visuals().weak_text_color()
        };
        ui.label(RichText::new(image.name()).weak());
        ui.colored_label(color, why);
        return;
    }

    let size = display_size(dims(image, textures, key, row), max_width);
    // Images whose bytes are here open in the viewer; right-click saves or copies.
    let openable = crate::keep::entry_data(entry).is_some();
    let sense = if openable {
        Sense::click()
    } else {
        Sense::hover()
    };
    let (rect, response) = ui.allocate_exact_size(size, sense);
    if openable {
        let label = format!("Open {}", image.name());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
        if response.clicked() {
            actions.push(Action::Open(key));
        }
        if response.hovered() {
            ui.ctx().set_cursor_icon(egui::CursorIcon::PointingHand);
        }
        response.context_menu(|ui| {
            if ui.button("Open").clicked() {
                actions.push(Action::Open(key));
            }
            if ui.button("Save…").clicked() {
                actions.push(Action::Save(key));
            }
            if ui.button("Copy image").clicked() {
                actions.push(Action::CopyImage(key));
            }
        });
    }
    let ppp = ui.ctx().pixels_per_point();
    let max_side = (size.x.max(size.y) * ppp).ceil() as u32;
    let painter = ui.painter_at(rect);
    let placeholder = ui.visuals().extreme_bg_color;
    let uv = Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));

    let mut shown = false;
    let data = match (&image.bytes, &image.spilled) {
        (Some(bytes), _) => Some(Data::Memory(bytes.clone())),
        (None, Some(path)) => Some(Data::File(path.clone())),
        (None, None) => None,
    };
    if image.state == ImageState::Ready
        && let Some(data) = data
    {
        let full = match textures.get(TexKey::Full(key), row) {
            Some(Slot::Ready { texture, .. }) => Look::Texture(texture.id()),
            Some(Slot::Failed(reason)) => Look::Failed(reason.clone()),
            Some(Slot::Loading) => Look::Loading,
            None => Look::Missing,
        };
        match full {
            Look::Texture(texture) => {
                painter.image(texture, rect, uv, Color32::WHITE);
                shown = true;
            }
            Look::Failed(reason) => {
                painter.rect_filled(rect, 6.0, placeholder);
                let text = RichText::new(format!("could not show this image ({reason})"))
                    .color(super::connect::ERROR_COLOR);
                ui.put(rect.shrink(8.0), egui::Label::new(text).wrap());
                shown = true;
            }
            Look::Loading => {}
            Look::Missing => textures.request(TexKey::Full(key), row, data, max_side, media),
        }
    }
    if !shown {
        let preview = image.preview.as_ref().and_then(|p| {
            let look = match textures.get(TexKey::Preview(key), row) {
                Some(Slot::Ready { texture, .. }) => Look::Texture(texture.id()),
                Some(_) => Look::Loading,
                None => Look::Missing,
            };
            match look {
                Look::Texture(id) => Some(id),
                Look::Missing => {
                    textures.request(
                        TexKey::Preview(key),
                        row,
                        Data::Memory(p.clone()),
                        256,
                        media,
                    );
                    None
                }
                Look::Loading | Look::Failed(_) => None,
            }
        });
        match preview {
            Some(texture) => {
                painter.image(texture, rect, uv, Color32::from_white_alpha(200));
            }
            None => {
                painter.rect_filled(rect, 6.0, placeholder);
            }
        }
        if image.state == ImageState::Ready {
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "loading…",
                egui::FontId::proportional(13.0),
                ui.visuals().weak_text_color(),
            );
        }
    }
    let mut meta_line = match &image.meta {
        Some(m) if m.size > 0 => format!("{} · {}", image.name(), human_size(m.size)),
        _ => image.name().to_owned(),
    };
    if let Some(note) = &image.note {
        meta_line = format!("{meta_line} · {note}");
    }
    response.on_hover_text(&meta_line);

    let total = image.meta.as_ref().map_or(0, |m| m.size);
    match &image.state {
        ImageState::Preparing => {
            ui.label(
                RichText::new(format!("{meta_line} · reading…"))
                    .small()
                    .weak(),
            );
        }
        ImageState::Queued => {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(format!("{meta_line} · waiting to send"))
                        .small()
                        .weak(),
                );
                if let Some(id) = &entry.local_id
                    && ui.small_button("Cancel").clicked()
                {
                    actions.push(Action::Cancel(id.clone()));
                }
            });
        }
        ImageState::Uploading { sent } | ImageState::Streaming { received: sent } => {
            let fraction = image.progress().unwrap_or(0.0).clamp(0.0, 1.0);
            ui.horizontal(|ui| {
                let bar_width = if entry.own { size.x - 64.0 } else { size.x };
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(bar_width.max(60.0))
                        .text(format!("{} of {}", human_size(*sent), human_size(total))),
                );
                if entry.own
                    && let Some(id) = &entry.local_id
                    && ui.small_button("Cancel").clicked()
                {
                    actions.push(Action::Cancel(id.clone()));
                }
            });
        }
        ImageState::Ready => {
            let status = if entry.own {
                format!("{meta_line} · ✔ sent{}", receipts_text(entry))
            } else {
                meta_line
            };
            ui.label(RichText::new(status).small().weak());
        }
        ImageState::Failed(_) | ImageState::Cancelled(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_size_fits_and_keeps_aspect() {
        assert_eq!(display_size(Some((3600, 1800)), 1000.0), vec2(360.0, 180.0));
        assert_eq!(display_size(Some((100, 50)), 1000.0), vec2(100.0, 50.0));
        assert_eq!(display_size(Some((10, 10)), 1000.0), vec2(48.0, 48.0));
        assert_eq!(display_size(Some((1000, 1000)), 200.0), vec2(200.0, 200.0));
        assert_eq!(display_size(None, 1000.0), UNKNOWN_IMAGE);
        assert_eq!(display_size(Some((0, 5)), 1000.0), UNKNOWN_IMAGE);
    }
}
