//! The app icon, drawn in code so it needs no image tool: a rounded square in
//! a blue-violet gradient with a white "photo" glyph (mountains and a sun)
//! above a wire with a node at each end. `UPDATE_ICONS=1 cargo test --test app_icon` writes the
//! PNGs in `assets/` from it; the window icon is decoded from the 256 px PNG.

/// RGBA pixels of the icon at `size` × `size`.
pub fn render(size: u32) -> Vec<u8> {
    let s = size as f32;
    let mut px = vec![0u8; (size * size * 4) as usize];
    // Supersample 4x4 for smooth edges.
    const SS: u32 = 4;
    for y in 0..size {
        for x in 0..size {
            let mut acc = [0f32; 4];
            for sy in 0..SS {
                for sx in 0..SS {
                    let u = (x as f32 + (sx as f32 + 0.5) / SS as f32) / s;
                    let v = (y as f32 + (sy as f32 + 0.5) / SS as f32) / s;
                    let c = shade(u, v);
                    // Premultiply for averaging.
                    acc[0] += c[0] * c[3];
                    acc[1] += c[1] * c[3];
                    acc[2] += c[2] * c[3];
                    acc[3] += c[3];
                }
            }
            let n = (SS * SS) as f32;
            let a = acc[3] / n;
            let i = ((y * size + x) * 4) as usize;
            if a > 0.0 {
                px[i] = (acc[0] / acc[3] * 255.0).round() as u8;
                px[i + 1] = (acc[1] / acc[3] * 255.0).round() as u8;
                px[i + 2] = (acc[2] / acc[3] * 255.0).round() as u8;
            }
            px[i + 3] = (a * 255.0).round() as u8;
        }
    }
    px
}

/// Inside the rounded rectangle `x0..x1` × `y0..y1` with corner radius `r`.
#[allow(clippy::too_many_arguments)]
fn rounded_rect_inside(u: f32, v: f32, x0: f32, y0: f32, x1: f32, y1: f32, r: f32) -> bool {
    let cx = u.clamp(x0 + r, x1 - r);
    let cy = v.clamp(y0 + r, y1 - r);
    let (dx, dy) = (u - cx, v - cy);
    u >= x0 && u <= x1 && v >= y0 && v <= y1 && dx * dx + dy * dy <= r * r
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// Color of the icon at (u, v) in 0..1, as straight RGBA 0..1.
fn shade(u: f32, v: f32) -> [f32; 4] {
    if !rounded_rect_inside(u, v, 0.04, 0.04, 0.96, 0.96, 0.2) {
        return [0.0; 4];
    }
    let top = [0.27, 0.45, 0.98];
    let bottom = [0.55, 0.27, 0.90];
    let bg = mix(top, bottom, (u * 0.4 + v * 0.6).clamp(0.0, 1.0));
    let white = [1.0, 1.0, 1.0, 1.0];
    // The photo: a white rounded frame.
    let outer = rounded_rect_inside(u, v, 0.2, 0.14, 0.8, 0.68, 0.08);
    let inner = rounded_rect_inside(u, v, 0.25, 0.19, 0.75, 0.63, 0.05);
    if outer && !inner {
        return white;
    }
    if inner {
        // The sun.
        let (dx, dy) = (u - 0.62, v - 0.31);
        if dx * dx + dy * dy < 0.06 * 0.06 {
            return [1.0, 0.86, 0.35, 1.0];
        }
        // Two mountains standing on the frame's lower edge.
        let m1 = v > 0.63 - (0.30 - (u - 0.40).abs()) * 1.0;
        let m2 = v > 0.63 - (0.20 - (u - 0.64).abs()) * 0.95;
        if m1 || m2 {
            return white;
        }
    }
    // The wire: a gentle wave under the photo with a node at each end, as if
    // the picture travels along it.
    let wave = |u: f32| 0.815 + 0.03 * ((u - 0.2) * std::f32::consts::TAU * 1.25).sin();
    if (v - wave(u)).abs() < 0.017 && (0.2..=0.8).contains(&u) {
        return white;
    }
    for cx in [0.2f32, 0.8] {
        let (dx, dy) = (u - cx, v - wave(cx));
        if dx * dx + dy * dy < 0.04 * 0.04 {
            return white;
        }
    }
    [bg[0], bg[1], bg[2], 1.0]
}

/// The 256 px icon as shipped in `assets/`, PNG-encoded.
pub const PNG_256: &[u8] = include_bytes!("../assets/snapwire-256.png");

/// The shipped icon's pixels (our own asset, decoded once).
pub fn pixels() -> Option<(u32, u32, Vec<u8>)> {
    let img = image::load_from_memory_with_format(PNG_256, image::ImageFormat::Png).ok()?;
    let rgba = img.to_rgba8();
    Some((rgba.width(), rgba.height(), rgba.into_raw()))
}
