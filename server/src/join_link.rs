//! Links and QR codes that bring a phone into a room.
//!
//! [`join_link`] makes `http://HOST:PORT/?room=R` (the relay serves its web
//! client at `/`, so the link is all a phone needs); [`JoinQr`] is that link as
//! a QR code: a square of modules for an app to draw ([`JoinQr::modules`]), or
//! text blocks for a terminal ([`JoinQr::to_terminal`]). The desktop app's
//! host view and the relay's start-up output both use these.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

/// Light modules around the code, as the QR standard asks for (4) minus what a
/// terminal's own margin gives; phones read 2 reliably.
const TERMINAL_QUIET_ZONE: usize = 2;

/// Why a QR code could not be made (the text is too long for any QR version).
#[derive(Debug, thiserror::Error)]
#[error("cannot make a QR code of this link: {0}")]
pub struct QrError(#[from] qrcode::types::QrError);

/// `http://HOST:PORT/?room=R`: opens room `room` in the relay's web page. IPv6
/// hosts are bracketed; anything outside the room's own characters is
/// percent-encoded (rooms are `A-Z a-z 0-9 . _ -`, so a valid room reads as is).
pub fn join_link(addr: SocketAddr, room: &str) -> String {
    join_link_as(addr, room, None)
}

/// [`join_link`] with `&name=N` as well, so the page joins at once as `name`.
pub fn join_link_as(addr: SocketAddr, room: &str, name: Option<&str>) -> String {
    let host = match addr.ip() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    let mut link = format!(
        "http://{host}:{}/?room={}",
        addr.port(),
        percent_encode(room)
    );
    if let Some(name) = name {
        link.push_str("&name=");
        link.push_str(&percent_encode(name));
    }
    link
}

/// Percent-encodes every byte of `s` but the URL-safe `A-Z a-z 0-9 - . _ ~`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A QR code of some text (a join link): `width` × `width` modules, dark or light.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinQr {
    width: usize,
    dark: Vec<bool>,
}

impl JoinQr {
    /// The QR code of `text`, at error correction level M (15 % of it may be
    /// smudged or covered and it still reads).
    pub fn new(text: &str) -> Result<Self, QrError> {
        let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)?;
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Ok(Self {
            width: code.width(),
            dark,
        })
    }

    /// Modules per side, without any quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark; outside the code: light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// Rows of modules, top to bottom, `true` = dark; no quiet zone (draw a
    /// light margin of 4 modules around it).
    pub fn modules(&self) -> Vec<Vec<bool>> {
        self.dark.chunks(self.width).map(<[bool]>::to_vec).collect()
    }

    /// The code as text blocks, two rows of modules per line (`█ ▀ ▄` and
    /// space), with a quiet zone. Made for a dark terminal: a light module is
    /// a lit block and a dark one is the background, so the printed code reads
    /// as dark-on-light the way cameras expect.
    pub fn to_terminal(&self) -> String {
        let q = TERMINAL_QUIET_ZONE;
        let side = self.width + 2 * q;
        // Light (lit) at (x, y) of the code with its quiet zone.
        let lit = |x: usize, y: usize| {
            let inside = x >= q && y >= q && x < q + self.width && y < q + self.width;
            !(inside && self.is_dark(x - q, y - q))
        };
        let mut out = String::with_capacity((side + 1) * side.div_ceil(2) * 3);
        for y in (0..side).step_by(2) {
            for x in 0..side {
                let top = lit(x, y);
                let bottom = y + 1 < side && lit(x, y + 1);
                out.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("socket address")
    }

    #[test]
    fn links_name_the_room_and_bracket_ipv6() {
        assert_eq!(
            join_link(addr("192.168.1.20:7600"), "lobby"),
            "http://192.168.1.20:7600/?room=lobby"
        );
        assert_eq!(
            join_link(addr("[fd00::1]:80"), "team.photos_2-x"),
            "http://[fd00::1]:80/?room=team.photos_2-x"
        );
    }

    #[test]
    fn names_and_odd_rooms_are_percent_encoded() {
        assert_eq!(
            join_link_as(addr("10.0.0.2:7600"), "a&b", Some("Zoë M")),
            "http://10.0.0.2:7600/?room=a%26b&name=Zo%C3%AB%20M"
        );
    }

    #[test]
    fn a_qr_code_is_square_with_its_three_finder_patterns() {
        let qr = JoinQr::new("http://192.168.1.20:7600/?room=lobby").expect("qr");
        let w = qr.width();
        assert!(
            w >= 21 && (w - 21).is_multiple_of(4),
            "a QR side is 21 + 4k, got {w}"
        );
        let rows = qr.modules();
        assert_eq!(rows.len(), w);
        assert!(rows.iter().all(|r| r.len() == w));
        // Finder patterns: a dark 7×7 ring at three corners, light just inside it.
        for (x0, y0) in [(0, 0), (w - 7, 0), (0, w - 7)] {
            for i in 0..7 {
                assert!(qr.is_dark(x0 + i, y0) && qr.is_dark(x0, y0 + i));
                assert!(qr.is_dark(x0 + i, y0 + 6) && qr.is_dark(x0 + 6, y0 + i));
            }
            assert!(!qr.is_dark(x0 + 1, y0 + 1));
            assert!(qr.is_dark(x0 + 3, y0 + 3));
        }
        assert!(!qr.is_dark(w, 0), "outside is light");
    }

    #[test]
    fn the_terminal_form_has_a_quiet_zone_and_two_rows_per_line() {
        let qr = JoinQr::new("http://10.0.0.2:7600/?room=lobby").expect("qr");
        let text = qr.to_terminal();
        let side = qr.width() + 2 * TERMINAL_QUIET_ZONE;
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), side.div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == side));
        // The top line is quiet zone above the finder pattern's top edge.
        assert!(lines[0].starts_with("████"), "{}", lines[0]);
        // Each line's characters reflect the modules they cover.
        let q = TERMINAL_QUIET_ZONE;
        let line = lines[1].chars().collect::<Vec<_>>();
        // Line 1 covers rows 2 and 3: code rows 0 and 1; column q is the finder's left edge.
        assert_eq!(line[q], ' ', "dark over dark is unlit");
    }

    #[test]
    fn text_too_long_for_any_qr_version_is_an_error() {
        let long = "x".repeat(8000);
        assert!(JoinQr::new(&long).is_err());
    }
}
