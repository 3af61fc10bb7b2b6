//! The chat timeline: newest at the bottom, pinned there while you are there,
//! a "new messages ⬇" button when you scrolled up. Only the rows that
//! intersect the viewport are laid out; the others count with their last
//! measured (or estimated) height, so thousands of rows cost little per frame.

use std::collections::HashMap;

use egui::{Rect, RichText, UiBuilder, vec2};

use super::bubble::{self, display_size};
use crate::intent::Intent;
use crate::media::MediaWorker;
use crate::state::{Body, Entry, EntryKey, Model};
use crate::t;
use crate::textures::TextureCache;

const ROW_GAP: f32 = 6.0;

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
) -> Vec<Intent> {
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
            ui.label(RichText::new(t!("timeline-empty")).weak());
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
                    bubble::draw_row(
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
        let label = format!("{} ⬇", t!("timeline-new", count = state.unseen));
        let size = vec2(130.0, 28.0);
        let rect =
            Rect::from_center_size(output.inner_rect.center_bottom() - vec2(0.0, size.y), size);
        let button = egui::Button::new(RichText::new(label).strong())
            .fill(ui.visuals().selection.bg_fill)
            .corner_radius(14.0);
        if ui
            .put(rect, button)
            .on_hover_text(t!("timeline-new-hint"))
            .clicked()
        {
            state.scroll_to_bottom = true;
            ui.ctx().request_repaint();
        }
    }
    actions
}
