//! One row of the timeline: a notice, or a bubble (ours on the right) with a
//! text or an image, its progress, and what it says about being sent.
//! Clicks become intents; textures come from the shared cache.

use std::collections::HashMap;

use egui::{Align, Color32, Layout, Rect, RichText, Sense, UiBuilder, Vec2, vec2};

use crate::intent::Intent;
use crate::look::{ERROR_COLOR, format_time, human_size, user_color};
use crate::media::{self, Data, MediaWorker, TexKey};
use crate::state::{Body, Entry, EntryKey, ImageItem, ImageState};
use crate::t;
use crate::textures::{Look, TextureCache};

const MAX_IMAGE: Vec2 = vec2(360.0, 280.0);
const MIN_IMAGE_SIDE: f32 = 48.0;
pub(super) const UNKNOWN_IMAGE: Vec2 = vec2(240.0, 160.0);

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
        Some(crate::textures::Slot::Ready { full, .. }) => Some((full[0], full[1])),
        _ => None,
    }
}

/// A width good enough to place an own bubble before it was measured (no jump
/// in most cases; corrected the next frame otherwise).
pub(super) fn first_width(entry: &Entry, bubble_max: f32) -> f32 {
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
pub(super) fn draw_row(
    ui: &mut egui::Ui,
    widths: &mut HashMap<EntryKey, f32>,
    entry: &Entry,
    row: usize,
    bubble_max: f32,
    textures: &mut TextureCache,
    media: &MediaWorker,
    actions: &mut Vec<Intent>,
) {
    if let Body::Notice(text) = &entry.body {
        ui.vertical_centered(|ui| {
            ui.label(
                RichText::new(format!("{text} · {}", format_time(entry.ts)))
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
                                .on_hover_text(t!("bubble-right-click-to-copy"))
                                .context_menu(|ui| {
                                    if ui.button(t!("bubble-copy-text")).clicked() {
                                        actions.push(Intent::CopyText(text.clone()));
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
                t!("name-you", name = &from.name)
            } else {
                from.name.clone()
            };
            ui.label(RichText::new(name).strong().color(user_color(&from.id)));
        }
        ui.label(RichText::new(format_time(entry.ts)).small().weak());
    });
}

fn receipts_text(entry: &Entry) -> String {
    if entry.receipts.is_empty() {
        return String::new();
    }
    let mut names: Vec<&str> = entry.receipts.iter().map(|u| u.name.as_str()).collect();
    names.dedup();
    format!(" · {}", t!("bubble-seen-by", names = names.join(", ")))
}

fn footer_text(ui: &mut egui::Ui, entry: &Entry, failed: Option<&str>) {
    if !entry.own {
        return;
    }
    if let Some(why) = failed {
        ui.colored_label(ERROR_COLOR, t!("bubble-not-sent", why = why));
    } else if entry.seq.is_none() {
        ui.label(RichText::new(t!("bubble-sending")).small().weak());
    } else {
        ui.label(
            RichText::new(format!("✔ {}{}", t!("bubble-sent"), receipts_text(entry)))
                .small()
                .weak(),
        );
    }
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
    actions: &mut Vec<Intent>,
) {
    let key = entry.key;
    let failed = match &image.state {
        ImageState::Failed(why) | ImageState::Cancelled(why) => Some(why.as_str()),
        _ => None,
    };
    if let Some(why) = failed {
        let color = if matches!(image.state, ImageState::Failed(_)) {
            ERROR_COLOR
        } else {
            ui.visuals().weak_text_color()
        };
        ui.label(RichText::new(image.name()).weak());
        ui.colored_label(color, why);
        return;
    }

    let size = display_size(dims(image, textures, key, row), max_width);
    // Images whose bytes are here open in the viewer; right-click saves or copies.
    let openable = media::entry_data(entry).is_some();
    let sense = if openable {
        Sense::click()
    } else {
        Sense::hover()
    };
    let (rect, response) = ui.allocate_exact_size(size, sense);
    if openable {
        let label = t!("bubble-open-image", name = image.name());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
        if response.clicked() {
            actions.push(Intent::Open(key));
        }
        if response.hovered() {
            ui.ctx().set_cursor_icon(egui::CursorIcon::PointingHand);
        }
        response.context_menu(|ui| {
            if ui.button(t!("bubble-open")).clicked() {
                actions.push(Intent::Open(key));
            }
            if ui.button(t!("image-save")).clicked() {
                actions.push(Intent::Save(key));
            }
            if ui.button(t!("image-copy")).clicked() {
                actions.push(Intent::CopyImage(key));
            }
        });
    }
    let ppp = ui.ctx().pixels_per_point();
    let max_side = (size.x.max(size.y) * ppp).ceil() as u32;
    let painter = ui.painter_at(rect);
    let placeholder = ui.visuals().extreme_bg_color;
    let uv = Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0));

    let mut shown = false;
    if image.state == ImageState::Ready
        && let Some(data) = media::entry_data(entry)
    {
        match textures.look(TexKey::Full(key), row, Some(data), max_side, media) {
            Look::Texture(texture, _) => {
                painter.image(texture, rect, uv, Color32::WHITE);
                shown = true;
            }
            Look::Failed(reason) => {
                painter.rect_filled(rect, 6.0, placeholder);
                let text = RichText::new(t!("image-cannot-show", reason = reason.as_str()))
                    .color(ERROR_COLOR);
                ui.put(rect.shrink(8.0), egui::Label::new(text).wrap());
                shown = true;
            }
            Look::Loading | Look::Missing => {}
        }
    }
    if !shown {
        let preview = image.preview.clone().map(Data::Memory);
        let look = if preview.is_some() {
            textures.look(TexKey::Preview(key), row, preview, 256, media)
        } else {
            Look::Missing
        };
        match look {
            Look::Texture(texture, _) => {
                painter.image(texture, rect, uv, Color32::from_white_alpha(200));
            }
            _ => {
                painter.rect_filled(rect, 6.0, placeholder);
            }
        }
        if image.state == ImageState::Ready {
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                t!("image-loading"),
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
                RichText::new(format!("{meta_line} · {}", t!("image-reading")))
                    .small()
                    .weak(),
            );
        }
        ImageState::Queued => {
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(format!("{meta_line} · {}", t!("image-waiting-to-send")))
                        .small()
                        .weak(),
                );
                if let Some(id) = &entry.local_id
                    && ui.small_button(t!("cancel")).clicked()
                {
                    actions.push(Intent::Cancel(id.clone()));
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
                        .text(t!(
                            "image-progress",
                            done = human_size(*sent),
                            total = human_size(total)
                        )),
                );
                if entry.own
                    && let Some(id) = &entry.local_id
                    && ui.small_button(t!("cancel")).clicked()
                {
                    actions.push(Intent::Cancel(id.clone()));
                }
            });
        }
        ImageState::Ready => {
            let status = if entry.own {
                format!(
                    "{meta_line} · ✔ {}{}",
                    t!("bubble-sent"),
                    receipts_text(entry)
                )
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
