//! The image viewer: one image of the room over the whole window, at full
//! resolution. Fit / 100% / zoom (wheel, pinch, +/- keys and buttons) / pan
//! (drag), ←/→ for the previous and next image, Esc to close.
//!
//! The original bytes are decoded by the media worker (its viewer slot:
//! only the newest request is decoded, so holding → skips the images in
//! between). Meanwhile the timeline's texture or the preview is shown under
//! a spinner. The viewer owns one texture, replaced when moving on and freed
//! when it closes.

use std::time::Instant;

use egui::{Color32, Key, Modifiers, Rect, RichText, Sense, Vec2, pos2, vec2};

use crate::intent::Intent;
use crate::keep::Activity;
use crate::look::{ERROR_COLOR, format_time, human_size, user_color};
use crate::media::{Data, FullRequest, MediaWorker, TexKey};
use crate::state::{Entry, EntryKey, Model};
use crate::t;
use crate::textures::{Look, TextureCache};

/// Zoom bounds, as physical pixels per image pixel.
const MIN_ZOOM: f32 = 0.02;
const MAX_ZOOM: f32 = 32.0;
/// One step of the +/- buttons and keys.
const STEP: f32 = 1.25;

/// The open viewer.
pub struct Viewer {
    pub key: EntryKey,
    /// `None`: fit the window (never enlarged beyond 100%). Else physical
    /// screen pixels per image pixel (1.0 = 100%).
    pub zoom: Option<f32>,
    /// Offset of the image's center from the view's center, in points.
    pub pan: Vec2,
    /// The full-resolution texture, once decoded.
    pub full: Option<(egui::TextureHandle, [u32; 2])>,
    /// An animated GIF's frames at full size (played over `full`).
    pub animated: Option<crate::textures::Animated>,
    pub error: Option<String>,
    /// Tells the worker's answer for this opening from a stale one.
    pub generation: u64,
    /// The full decode was asked for.
    pub requested: bool,
    opened_at: Instant,
    reported: bool,
    /// The zoom in effect in the last frame (for the label and for zooming from Fit).
    pub shown_zoom: f32,
}

impl Viewer {
    pub fn new(key: EntryKey, generation: u64) -> Self {
        Self {
            key,
            zoom: None,
            pan: Vec2::ZERO,
            full: None,
            animated: None,
            error: None,
            generation,
            requested: false,
            opened_at: Instant::now(),
            reported: false,
            // Known once the first frame measured the window.
            shown_zoom: f32::NAN,
        }
    }

    /// The media worker's answer: kept when it is for this opening of this image.
    pub fn take_full(
        &mut self,
        ctx: &egui::Context,
        generation: u64,
        key: EntryKey,
        result: Result<crate::media::Decoded, String>,
    ) {
        if generation != self.generation || key != self.key {
            return;
        }
        match result {
            Ok(full) => {
                let now = ctx.input(|i| i.time);
                self.animated = crate::textures::Animated::upload(ctx, "viewer", full.frames, now);
                let texture = ctx.load_texture("viewer", full.image, egui::TextureOptions::LINEAR);
                self.full = Some((texture, full.full));
            }
            Err(why) => self.error = Some(why),
        }
    }

    pub fn loading(&self) -> bool {
        self.full.is_none() && self.error.is_none()
    }

    /// "Zoom: 37% (fit)", "Zoom: 100%".
    pub fn zoom_label(&self) -> String {
        let percent = (self.shown_zoom * 100.0).round();
        if self.shown_zoom.is_nan() {
            return t!("viewer-zoom-fit");
        }
        match self.zoom {
            None => t!("viewer-zoom-fitted", percent = percent),
            Some(_) => t!("viewer-zoom", percent = percent),
        }
    }
}

impl Viewer {
    /// The full-resolution decode to ask the media worker for, once per opening;
    /// an image that is gone from the room says so instead.
    pub fn full_request(&mut self, model: &Model, max_side: u32) -> Option<FullRequest> {
        if self.requested {
            return None;
        }
        let Some(data) = model.entry(self.key).and_then(crate::media::entry_data) else {
            self.error = Some(t!("viewer-gone"));
            return None;
        };
        self.requested = true;
        Some(FullRequest {
            generation: self.generation,
            key: self.key,
            data,
            max_side,
        })
    }
}

/// What the viewer shows besides its own state.
pub struct ViewerInput<'a> {
    pub entry: &'a Entry,
    /// The entry's row in the timeline (the texture cache's eviction counts rows).
    pub row: usize,
    /// Every viewable image of the room, oldest first (← and → move along it).
    pub keys: &'a [EntryKey],
    pub activity: &'a Activity,
}

/// Draws the viewer over the whole window.
pub fn show(
    ui: &mut egui::Ui,
    input: &ViewerInput<'_>,
    viewer: &mut Viewer,
    textures: &mut TextureCache,
    media: &MediaWorker,
) -> Vec<Intent> {
    let key = viewer.key;
    let ctx = ui.ctx().clone();
    let keys = input.keys;
    let index = keys.iter().position(|k| *k == key);
    let mut asks = Vec::new();

    // Keys first, so a text box elsewhere never sees them.
    ctx.input_mut(|i| {
        if i.consume_key(Modifiers::NONE, Key::Escape) {
            asks.push(Ask::Close);
        }
        if i.consume_key(Modifiers::NONE, Key::ArrowLeft) {
            asks.push(Ask::Go(-1));
        }
        if i.consume_key(Modifiers::NONE, Key::ArrowRight) {
            asks.push(Ask::Go(1));
        }
    });
    let zoom_keys = ctx.input_mut(|i| {
        let mut z = 0i32;
        for key in [Key::Plus, Key::Equals] {
            if i.consume_key(Modifiers::NONE, key) || i.consume_key(Modifiers::SHIFT, key) {
                z += 1;
            }
        }
        if i.consume_key(Modifiers::NONE, Key::Minus) {
            z -= 1;
        }
        let fit = i.consume_key(Modifiers::NONE, Key::Num0);
        let actual = i.consume_key(Modifiers::NONE, Key::Num1);
        (z, fit, actual)
    });

    let entry = input.entry;
    let image = entry.image();
    let name = image.map_or_else(|| t!("image-default-name"), |i| i.name().to_owned());
    let from = entry.from.as_ref().map(|u| (u.name.clone(), u.id.clone()));
    let ts = entry.ts;
    let meta = image.and_then(|i| i.meta.clone());
    let preview = image.and_then(|i| i.preview.clone());
    let row = input.row;

    let dark = Color32::from_gray(18);
    egui::Panel::top("viewer-top").show(ui, |ui| {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            if ui
                .button(format!("× {}", t!("viewer-close")))
                .on_hover_text("Esc")
                .clicked()
            {
                asks.push(Ask::Close);
            }
            ui.separator();
            let at = index.unwrap_or(0);
            if ui
                .add_enabled(
                    at > 0,
                    egui::Button::new(format!("⬅ {}", t!("viewer-previous"))),
                )
                .on_hover_text(t!("viewer-previous-hint"))
                .clicked()
            {
                asks.push(Ask::Go(-1));
            }
            ui.label(t!("viewer-position", at = at + 1, total = keys.len()));
            if ui
                .add_enabled(
                    at + 1 < keys.len(),
                    egui::Button::new(format!("{} ➡", t!("viewer-next"))),
                )
                .on_hover_text(t!("viewer-next-hint"))
                .clicked()
            {
                asks.push(Ask::Go(1));
            }
            ui.separator();
            ui.label(RichText::new(&name).strong());
            if let Some((sender, id)) = &from {
                ui.label(RichText::new(sender).color(user_color(id)));
            }
            ui.label(RichText::new(format_time(ts)).weak());
            if let Some(m) = &meta {
                let mut facts = Vec::new();
                if let (Some(w), Some(h)) = (m.width, m.height) {
                    facts.push(format!("{w}×{h}"));
                }
                if m.size > 0 {
                    facts.push(human_size(m.size));
                }
                ui.label(RichText::new(facts.join(" · ")).weak());
            }
        });
        ui.add_space(4.0);
    });

    let zoom_label = viewer.zoom_label();
    let mut set_zoom: Option<Option<f32>> = None;
    let mut step = zoom_keys.0;
    if zoom_keys.1 {
        set_zoom = Some(None);
    }
    if zoom_keys.2 {
        set_zoom = Some(Some(1.0));
    }
    egui::Panel::bottom("viewer-bottom").show(ui, |ui| {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            if ui.button(t!("viewer-fit")).on_hover_text("0").clicked() {
                set_zoom = Some(None);
            }
            if ui.button("100%").on_hover_text("1").clicked() {
                set_zoom = Some(Some(1.0));
            }
            let small = vec2(28.0, 0.0);
            if ui
                .add(egui::Button::new("−").min_size(small))
                .on_hover_text(t!("viewer-zoom-out"))
                .clicked()
            {
                step -= 1;
            }
            // Fixed width: the buttons after it stay put while zooming.
            ui.add_sized([150.0, small.y.max(18.0)], egui::Label::new(&zoom_label));
            if ui
                .add(egui::Button::new("+").min_size(small))
                .on_hover_text(t!("viewer-zoom-in"))
                .clicked()
            {
                step += 1;
            }
            ui.separator();
            if ui.button(t!("image-save")).clicked() {
                asks.push(Ask::Do(Intent::Save(key)));
            }
            if ui.button(t!("image-copy")).clicked() {
                asks.push(Ask::Do(Intent::CopyImage(key)));
            }
            asks.extend(
                super::tabs::activity_line(ui, input.activity)
                    .into_iter()
                    .map(Ask::Do),
            );
        });
        ui.add_space(4.0);
    });

    // What to draw while the full image decodes: the timeline's texture, else the preview.
    let fallback = match textures.look(TexKey::Full(key), row, None, 0, media) {
        Look::Texture(id, _) => Some(id),
        _ => match textures.look(
            TexKey::Preview(key),
            row,
            preview.map(Data::Memory),
            256,
            media,
        ) {
            Look::Texture(id, _) => Some(id),
            _ => None,
        },
    };

    let frame = egui::Frame::new().fill(dark);
    egui::CentralPanel::default().frame(frame).show(ui, |ui| {
        let view = ui.max_rect();
        let response = ui.allocate_rect(view, Sense::click_and_drag());
        let ppp = ui.ctx().pixels_per_point();
        let dims = viewer
            .full
            .as_ref()
            .map(|(_, o)| *o)
            .or_else(|| meta.as_ref().and_then(|m| Some([m.width?, m.height?])))
            .unwrap_or([view.width().max(1.0) as u32, view.height().max(1.0) as u32]);
        let size_px = vec2(dims[0].max(1) as f32, dims[1].max(1) as f32);
        // Fit: the largest zoom that shows it all, never above 100%.
        let fit = ((view.width() * ppp / size_px.x).min(view.height() * ppp / size_px.y))
            .clamp(MIN_ZOOM, 1.0);

        if let Some(z) = set_zoom {
            viewer.zoom = z;
            viewer.pan = Vec2::ZERO;
        }
        let mut zoom = viewer.zoom.unwrap_or(fit);
        let pointer = response.hover_pos().unwrap_or(view.center());
        let mut factor = STEP.powi(step);
        if response.hovered() {
            let (scroll, pinch) = ui.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
            factor *= (scroll / 200.0).exp() * pinch;
        }
        if (factor - 1.0).abs() > 1e-4 {
            let new = (zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
            // Keep the image point under the pointer (buttons: the center) in place.
            let anchor = if step != 0 { view.center() } else { pointer };
            let center = view.center() + viewer.pan;
            let center = anchor - (anchor - center) * (new / zoom);
            viewer.pan = center - view.center();
            viewer.zoom = Some(new);
            zoom = new;
        }
        if response.double_clicked() {
            viewer.zoom = if viewer.zoom.is_some() {
                None
            } else {
                Some(1.0)
            };
            viewer.pan = Vec2::ZERO;
            zoom = viewer.zoom.unwrap_or(fit);
        }
        if response.dragged() {
            viewer.pan += response.drag_delta();
        }
        let shown = size_px * zoom / ppp;
        // Never let the image wander off: centered when smaller than the view.
        let slack = ((shown - view.size()) / 2.0).max(Vec2::ZERO);
        viewer.pan = viewer.pan.clamp(-slack, slack);
        viewer.shown_zoom = zoom;

        let rect = Rect::from_center_size(view.center() + viewer.pan, shown);
        let painter = ui.painter_at(view);
        let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
        let playing = viewer.animated.as_ref().map(|a| {
            let (frame, next) = a.at(ui.input(|i| i.time));
            ui.ctx().request_repaint_after(next);
            frame.id()
        });
        let texture = playing
            .or_else(|| viewer.full.as_ref().map(|(t, _)| t.id()))
            .or(fallback);
        match texture {
            Some(id) => {
                painter.image(id, rect, uv, Color32::WHITE);
            }
            None => {
                painter.rect_filled(rect, 0.0, Color32::from_gray(40));
            }
        }
        if let Some(why) = &viewer.error {
            let text = RichText::new(t!("image-cannot-show", reason = why)).color(ERROR_COLOR);
            ui.put(
                Rect::from_center_size(view.center(), vec2(view.width().min(600.0), 60.0)),
                egui::Label::new(text).wrap(),
            );
        } else if viewer.full.is_none() {
            let spot = Rect::from_center_size(view.center(), vec2(40.0, 40.0));
            ui.put(spot, egui::Spinner::new().size(36.0));
            painter.text(
                view.center() + vec2(0.0, 36.0),
                egui::Align2::CENTER_TOP,
                t!("viewer-loading-full"),
                egui::FontId::proportional(14.0),
                Color32::from_gray(200),
            );
        } else if !viewer.reported {
            viewer.reported = true;
            tracing::info!(
                image = %name,
                width = dims[0],
                height = dims[1],
                ms = viewer.opened_at.elapsed().as_millis() as u64,
                "viewer: full resolution shown"
            );
        }
        if response.dragged() {
            ui.ctx().set_cursor_icon(egui::CursorIcon::Grabbing);
        } else if response.hovered() && (shown.x > view.width() || shown.y > view.height()) {
            ui.ctx().set_cursor_icon(egui::CursorIcon::Grab);
        }
    });

    let mut intents = Vec::new();
    for ask in asks {
        match ask {
            Ask::Close => return vec![Intent::CloseViewer],
            Ask::Go(delta) => {
                if let Some(at) = index {
                    let next = at as isize + delta;
                    if next >= 0
                        && let Some(k) = keys.get(next as usize)
                    {
                        intents.push(Intent::Open(*k));
                    }
                }
            }
            Ask::Do(intent) => intents.push(intent),
        }
    }
    intents
}

/// What the keys and buttons asked, before it is known where ← and → lead.
enum Ask {
    Close,
    Go(isize),
    Do(Intent),
}
