//! The image viewer: one image of the room over the whole window, at full
//! resolution. Fit / 100% / zoom (wheel, pinch, +/- keys and buttons) / pan
//! (drag), ←/→ for the previous and next image, Esc to close.
//!
//! The original bytes are decoded on the viewer's own thread
//! ([`FullDecoder`], with the usual [`image::Limits`]); only the newest
//! request is decoded, so holding → skips the images in between. Meanwhile the
//! timeline's texture or the preview is shown under a spinner. The viewer owns
//! one texture, replaced when moving on and freed when it closes.

use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::Instant;

use egui::{Color32, Key, Modifiers, Rect, RichText, Sense, Vec2, pos2, vec2};

use crate::app::SnapwireApp;
use crate::media::{Data, TexKey};
use crate::state::{EntryKey, ImageState};
use crate::textures::Slot;

/// Zoom bounds, as physical pixels per image pixel.
const MIN_ZOOM: f32 = 0.02;
const MAX_ZOOM: f32 = 32.0;
/// One step of the +/- buttons and keys.
const STEP: f32 = 1.25;

/// Pixels of the full image, ready to upload.
pub struct FullImage {
    pub image: egui::ColorImage,
    /// The image's real size (the texture is smaller only beyond the GPU's limit).
    pub original: [u32; 2],
}

struct Request {
    generation: u64,
    key: EntryKey,
    data: Data,
    max_side: u32,
}

pub struct Loaded {
    generation: u64,
    key: EntryKey,
    result: Result<FullImage, String>,
}

#[derive(Default)]
struct Shared {
    next: Option<Request>,
    closed: bool,
}

/// The viewer's decoding thread: holds at most one waiting request (a newer one replaces it).
pub struct FullDecoder {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    done: mpsc::Receiver<Loaded>,
}

impl FullDecoder {
    pub fn spawn(repaint: crate::net::Repaint) -> Self {
        let shared: Arc<(Mutex<Shared>, Condvar)> = Arc::default();
        let (tx, done) = mpsc::sync_channel(2);
        let worker = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("snapwire-viewer".into())
            .spawn(move || {
                loop {
                    let request = {
                        let (lock, wake) = &*worker;
                        let Ok(mut guard) = lock.lock() else { return };
                        loop {
                            if guard.closed {
                                return;
                            }
                            if let Some(request) = guard.next.take() {
                                break request;
                            }
                            guard = match wake.wait(guard) {
                                Ok(g) => g,
                                Err(_) => return,
                            };
                        }
                    };
                    let result = decode_full(&request.data, request.max_side);
                    let loaded = Loaded {
                        generation: request.generation,
                        key: request.key,
                        result,
                    };
                    if tx.send(loaded).is_err() {
                        return;
                    }
                    repaint();
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the viewer's decoder");
        }
        Self { shared, done }
    }

    fn request(&self, request: Request) {
        let (lock, wake) = &*self.shared;
        if let Ok(mut guard) = lock.lock() {
            guard.next = Some(request);
            wake.notify_one();
        }
    }

    fn try_recv(&self) -> Option<Loaded> {
        self.done.try_recv().ok()
    }
}

impl Drop for FullDecoder {
    fn drop(&mut self) {
        let (lock, wake) = &*self.shared;
        if let Ok(mut guard) = lock.lock() {
            guard.closed = true;
            guard.next = None;
            wake.notify_one();
        }
    }
}

/// Decodes the original with limits, scaled down only if a side exceeds `max_side`
/// (the GPU's largest texture).
pub fn decode_full(data: &Data, max_side: u32) -> Result<FullImage, String> {
    let bytes = match data {
        Data::Memory(bytes) => bytes.clone(),
        Data::File(path) => std::fs::read(path)
            .map(bytes::Bytes::from)
            .map_err(|e| format!("its cached copy is unreadable: {e}"))?,
    };
    let img = crate::media::decode(&bytes)?;
    let original = [img.width(), img.height()];
    let img = if img.width() > max_side || img.height() > max_side {
        img.thumbnail(max_side, max_side)
    } else {
        img
    };
    let size = [img.width() as usize, img.height() as usize];
    let image = match img {
        image::DynamicImage::ImageRgb8(rgb) => egui::ColorImage::from_rgb(size, rgb.as_raw()),
        image::DynamicImage::ImageRgba8(rgba) => {
            egui::ColorImage::from_rgba_unmultiplied(size, rgba.as_raw())
        }
        other => egui::ColorImage::from_rgba_unmultiplied(size, other.to_rgba8().as_raw()),
    };
    Ok(FullImage { image, original })
}

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
    pub error: Option<String>,
    generation: u64,
    requested: bool,
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
            error: None,
            generation,
            requested: false,
            opened_at: Instant::now(),
            reported: false,
            // Known once the first frame measured the window.
            shown_zoom: f32::NAN,
        }
    }

    pub fn loading(&self) -> bool {
        self.full.is_none() && self.error.is_none()
    }

    /// "Zoom: 37% (fit)", "Zoom: 100%".
    pub fn zoom_label(&self) -> String {
        let percent = (self.shown_zoom * 100.0).round();
        if self.shown_zoom.is_nan() {
            return "Zoom: fit".to_owned();
        }
        match self.zoom {
            None => format!("Zoom: {percent}% (fit)"),
            Some(_) => format!("Zoom: {percent}%"),
        }
    }
}

/// What the viewer asks of the app this frame.
enum Ask {
    Close,
    Go(isize),
    Save,
    Copy,
}

impl SnapwireApp {
    /// Opens (or moves) the viewer to `key`.
    pub fn open_viewer(&mut self, key: EntryKey) {
        self.keep.generation += 1;
        self.keep.viewer = Some(Viewer::new(key, self.keep.generation));
    }

    /// Takes a finished full-resolution decode, if it is still wanted.
    pub(crate) fn viewer_logic(&mut self, ctx: &egui::Context) {
        let Some(decoder) = &self.keep.decoder else {
            return;
        };
        while let Some(loaded) = decoder.try_recv() {
            let Some(viewer) = self.keep.viewer.as_mut() else {
                continue;
            };
            if loaded.generation != viewer.generation || loaded.key != viewer.key {
                continue;
            }
            match loaded.result {
                Ok(full) => {
                    let texture =
                        ctx.load_texture("viewer", full.image, egui::TextureOptions::LINEAR);
                    viewer.full = Some((texture, full.original));
                }
                Err(why) => viewer.error = Some(why),
            }
        }
    }

    fn request_full(&mut self, ctx: &egui::Context) {
        let Some(viewer) = self.keep.viewer.as_mut() else {
            return;
        };
        if viewer.requested {
            return;
        }
        let Some(data) = self
            .model
            .entry(viewer.key)
            .and_then(crate::keep::entry_data)
        else {
            viewer.error = Some("this image is not here (any more)".into());
            return;
        };
        viewer.requested = true;
        let max_side = ctx.input(|i| i.max_texture_side).max(1) as u32;
        let decoder = self.keep.decoder.get_or_insert_with(|| {
            let ctx = ctx.clone();
            FullDecoder::spawn(Arc::new(move || ctx.request_repaint()))
        });
        decoder.request(Request {
            generation: viewer.generation,
            key: viewer.key,
            data,
            max_side,
        });
    }
}

/// Draws the viewer over the whole window. Returns false when no viewer is open.
pub fn show(ui: &mut egui::Ui, app: &mut SnapwireApp) -> bool {
    let Some(key) = app.keep.viewer.as_ref().map(|v| v.key) else {
        return false;
    };
    let ctx = ui.ctx().clone();
    app.request_full(&ctx);
    let keys = app.viewable_keys();
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

    let Some(entry) = app.model.entry(key) else {
        app.keep.viewer = None;
        return false;
    };
    let image = entry.image();
    let name = image.map_or("image", |i| i.name()).to_owned();
    let from = entry.from.as_ref().map(|u| (u.name.clone(), u.id.clone()));
    let ts = entry.ts;
    let meta = image.and_then(|i| i.meta.clone());
    let preview = image.and_then(|i| i.preview.clone());
    let row = app
        .model
        .entries
        .iter()
        .position(|e| e.key == key)
        .unwrap_or(0);

    let dark = Color32::from_gray(18);
    egui::Panel::top("viewer-top").show(ui, |ui| {
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            if ui.button("× Close").on_hover_text("Esc").clicked() {
                asks.push(Ask::Close);
            }
            ui.separator();
            let at = index.unwrap_or(0);
            if ui
                .add_enabled(at > 0, egui::Button::new("⬅ Previous"))
                .on_hover_text("Left arrow key")
                .clicked()
            {
                asks.push(Ask::Go(-1));
            }
            ui.label(format!("{} of {}", at + 1, keys.len()));
            if ui
                .add_enabled(at + 1 < keys.len(), egui::Button::new("Next ➡"))
                .on_hover_text("Right arrow key")
                .clicked()
            {
                asks.push(Ask::Go(1));
            }
            ui.separator();
            ui.label(RichText::new(&name).strong());
            if let Some((sender, id)) = &from {
                ui.label(RichText::new(sender).color(super::user_color(id)));
            }
            ui.label(RichText::new(super::format_time(ts)).weak());
            if let Some(m) = &meta {
                let mut facts = Vec::new();
                if let (Some(w), Some(h)) = (m.width, m.height) {
                    facts.push(format!("{w}×{h}"));
                }
                if m.size > 0 {
                    facts.push(crate::media::human_size(m.size));
                }
                ui.label(RichText::new(facts.join(" · ")).weak());
            }
        });
        ui.add_space(4.0);
    });

    let zoom_label = app
        .keep
        .viewer
        .as_ref()
        .map(Viewer::zoom_label)
        .unwrap_or_default();
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
            if ui.button("Fit").on_hover_text("0").clicked() {
                set_zoom = Some(None);
            }
            if ui.button("100%").on_hover_text("1").clicked() {
                set_zoom = Some(Some(1.0));
            }
            let small = vec2(28.0, 0.0);
            if ui
                .add(egui::Button::new("−").min_size(small))
                .on_hover_text("Zoom out (-)")
                .clicked()
            {
                step -= 1;
            }
            // Fixed width: the buttons after it stay put while zooming.
            ui.add_sized([118.0, small.y.max(18.0)], egui::Label::new(&zoom_label));
            if ui
                .add(egui::Button::new("+").min_size(small))
                .on_hover_text("Zoom in (+)")
                .clicked()
            {
                step += 1;
            }
            ui.separator();
            if ui.button("Save…").clicked() {
                asks.push(Ask::Save);
            }
            if ui.button("Copy image").clicked() {
                asks.push(Ask::Copy);
            }
            crate::keep::status_line(ui, app);
        });
        ui.add_space(4.0);
    });

    // What to draw while the full image decodes: the timeline's texture, else the preview.
    let fallback = match app.textures.get(TexKey::Full(key), row) {
        Some(Slot::Ready { texture, .. }) => Some(texture.id()),
        _ => match app.textures.get(TexKey::Preview(key), row) {
            Some(Slot::Ready { texture, .. }) => Some(texture.id()),
            Some(_) => None,
            None => {
                if let Some(preview) = preview {
                    app.textures.request(
                        TexKey::Preview(key),
                        row,
                        Data::Memory(preview),
                        256,
                        &app.media,
                    );
                }
                None
            }
        },
    };

    let frame = egui::Frame::new().fill(dark);
    egui::CentralPanel::default().frame(frame).show(ui, |ui| {
        let view = ui.max_rect();
        let response = ui.allocate_rect(view, Sense::click_and_drag());
        let Some(viewer) = app.keep.viewer.as_mut() else {
            return;
        };
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
        let texture = viewer.full.as_ref().map(|(t, _)| t.id()).or(fallback);
        match texture {
            Some(id) => {
                painter.image(id, rect, uv, Color32::WHITE);
            }
            None => {
                painter.rect_filled(rect, 0.0, Color32::from_gray(40));
            }
        }
        if let Some(why) = &viewer.error {
            let text = RichText::new(format!("could not show this image ({why})"))
                .color(super::connect::ERROR_COLOR);
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
                "loading full resolution…",
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

    for ask in asks {
        match ask {
            Ask::Close => {
                // Dropping the viewer frees its texture.
                app.keep.viewer = None;
                return true;
            }
            Ask::Go(delta) => {
                if let Some(at) = index {
                    let next = at as isize + delta;
                    if next >= 0
                        && let Some(k) = keys.get(next as usize)
                    {
                        app.open_viewer(*k);
                    }
                }
            }
            Ask::Save => app.save_image(key),
            Ask::Copy => app.copy_image(key),
        }
    }
    true
}

/// True when an image can be opened, saved and copied: its bytes are here.
pub fn viewable(state: &ImageState) -> bool {
    !matches!(state, ImageState::Failed(_) | ImageState::Cancelled(_))
}

#[cfg(test)]
mod tests {
    /// The symbols of the viewer and gallery must be in the bundled fonts.
    #[test]
    fn symbols_are_in_the_bundled_fonts() {
        let ctx = egui::Context::default();
        ctx.set_missing_glyph_policy(egui::MissingGlyphPolicy::Panic);
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            ui.label("× ⬅ ➡ − + … 1600×1000 · Zoom: 37% (fit) ☑");
        });
        output.textures_delta.clear();
    }
}
