//! Field rules of the contract: names, rooms, client secrets, item ids, hashes,
//! display names of files and previews. Each returns the cleaned value or the error code.

use sha2::{Digest, Sha256};

use super::{ErrorCode, ImageFormat, ProtocolError};

pub const MAX_NAME_CHARS: usize = 32;
pub const MAX_ROOM_CHARS: usize = 64;
pub const MAX_ITEM_ID_CHARS: usize = 64;
pub const DEFAULT_ROOM: &str = "lobby";
/// Longest file name we keep for display; longer ones are cut (a detail the contract leaves open).
pub const MAX_FILE_NAME_CHARS: usize = 255;
pub const MAX_PREVIEW_BYTES: usize = 32 * 1024;
pub const MAX_PREVIEW_SIDE: u32 = 256;

/// Characters that change how text around them is shown without showing
/// themselves: bidi embeddings, overrides, isolates and marks, zero-width
/// spaces and joiners, the BOM. Dropped from names so nobody can pose as "Ana"
/// with "Ana" plus an invisible character, or flip how a name reads.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' // soft hyphen
        | '\u{034F}' // combining grapheme joiner
        | '\u{061C}' // arabic letter mark
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // hangul fillers
        | '\u{180E}' // mongolian vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space, non-joiner, joiner, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}' // bidi isolates
        | '\u{206A}'..='\u{206F}' // deprecated format characters
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{FEFF}' // byte order mark, zero-width no-break space
    )
}

/// `raw` without [invisible](is_invisible) characters.
pub fn strip_invisible(raw: &str) -> String {
    raw.chars().filter(|c| !is_invisible(*c)).collect()
}

/// A display name: 1-32 characters after dropping invisible characters and
/// trimming, no control characters.
pub fn display_name(raw: &str) -> Result<String, ProtocolError> {
    let visible = strip_invisible(raw);
    let name = visible.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(ProtocolError::new(
            ErrorCode::BadName,
            format!("a name is 1 to {MAX_NAME_CHARS} characters, this one has {chars}"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ProtocolError::new(
            ErrorCode::BadName,
            "a name may not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

/// A room: 1-64 of `A-Z a-z 0-9 . _ -`, not starting with `.`.
pub fn room_name(raw: &str) -> Result<String, ProtocolError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if raw.is_empty() || raw.len() > MAX_ROOM_CHARS {
        return Err(ProtocolError::new(
            ErrorCode::BadRoom,
            format!("a room name is 1 to {MAX_ROOM_CHARS} characters"),
        ));
    }
    if !raw.chars().all(ok_char) {
        return Err(ProtocolError::new(
            ErrorCode::BadRoom,
            "a room name may hold only letters, digits, '.', '_' and '-'",
        ));
    }
    if raw.starts_with('.') {
        return Err(ProtocolError::new(
            ErrorCode::BadRoom,
            "a room name may not start with '.'",
        ));
    }
    Ok(raw.to_owned())
}

/// The client secret: exactly 32 lowercase hex digits.
pub fn client_secret(raw: &str) -> Result<String, ProtocolError> {
    if is_lower_hex(raw, 32) {
        Ok(raw.to_owned())
    } else {
        Err(ProtocolError::new(
            ErrorCode::BadClient,
            "client must be 32 lowercase hex digits",
        ))
    }
}

/// The public user id of a client secret: the first 12 hex digits of its SHA-256.
pub fn user_id(client_secret: &str) -> String {
    let digest = Sha256::digest(client_secret.as_bytes());
    hex::encode(&digest[..6])
}

/// An item id chosen by a client: 1-64 characters.
pub fn item_id(raw: &str) -> Result<(), ProtocolError> {
    let chars = raw.chars().count();
    if (1..=MAX_ITEM_ID_CHARS).contains(&chars) {
        Ok(())
    } else {
        Err(ProtocolError::new(
            ErrorCode::BadHeader,
            format!("an item id is 1 to {MAX_ITEM_ID_CHARS} characters"),
        ))
    }
}

/// A SHA-256 as 64 lowercase hex digits.
pub fn sha256_hex(raw: &str) -> bool {
    is_lower_hex(raw, 64)
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The name shown for an image: its last path component, without control or
/// invisible characters, at most 255 characters; `image.<ext>` when nothing useful is left.
/// Never used as a file name on disk.
pub fn file_display_name(raw: &str, format: ImageFormat) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_invisible(*c))
        .take(MAX_FILE_NAME_CHARS)
        .collect();
    match cleaned.trim() {
        "" | "." | ".." => format!("image.{}", format.extension()),
        _ => cleaned,
    }
}

/// A preview: PNG, JPEG or WebP, at most 32 KiB and 256 px on its longer side.
pub fn preview(bytes: &[u8]) -> Result<(), ProtocolError> {
    let bad = |why: String| ProtocolError::new(ErrorCode::BadImage, why);
    if bytes.len() > MAX_PREVIEW_BYTES {
        return Err(bad(format!(
            "the preview is {} bytes, the limit is {MAX_PREVIEW_BYTES}",
            bytes.len()
        )));
    }
    match ImageFormat::sniff(bytes) {
        Some(ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Webp) => {}
        _ => return Err(bad("the preview is not a PNG, JPEG or WebP".into())),
    }
    let size = imagesize::blob_size(bytes)
        .map_err(|e| bad(format!("the preview's size cannot be read: {e}")))?;
    let longer = size.width.max(size.height);
    if longer == 0 || longer > MAX_PREVIEW_SIDE as usize {
        return Err(bad(format!(
            "the preview is {}x{} px, the limit is {MAX_PREVIEW_SIDE} px on the longer side",
            size.width, size.height
        )));
    }
    Ok(())
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Hashing first makes the comparison length-independent too.
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(display_name("  Ana ").expect("ok"), "Ana");
        assert_eq!(
            display_name(&"é".repeat(32)).expect("32 chars"),
            "é".repeat(32)
        );
        for bad in ["", "   ", &"x".repeat(33), "A\u{7}na", "new\nline"] {
            assert_eq!(display_name(bad).expect_err(bad).code, ErrorCode::BadName);
        }
    }

    #[test]
    fn names_lose_bidi_controls_and_zero_width_characters() {
        assert_eq!(display_name("A\u{200B}na\u{200D}").expect("ok"), "Ana");
        assert_eq!(display_name("\u{202E}anA\u{202C}").expect("ok"), "anA");
        assert_eq!(
            display_name("\u{2067}Ana\u{2069} \u{FEFF}").expect("ok"),
            "Ana"
        );
        assert_eq!(
            display_name("\u{200B}\u{200B}")
                .expect_err("only invisible")
                .code,
            ErrorCode::BadName
        );
        // 32 visible characters pass however many invisible ones pad them.
        let padded = format!("{}{}", "a".repeat(32), "\u{200B}".repeat(40));
        assert_eq!(display_name(&padded).expect("ok"), "a".repeat(32));
        assert_eq!(
            file_display_name("cat\u{202E}gnp.exe", ImageFormat::Png),
            "catgnp.exe"
        );
        assert_eq!(file_display_name("\u{200B}", ImageFormat::Png), "image.png");
    }

    #[test]
    fn rooms_follow_the_alphabet() {
        for ok in ["lobby", "A.b_c-9", &"r".repeat(64)] {
            assert_eq!(room_name(ok).expect(ok), ok);
        }
        for bad in ["", ".hidden", "../x", "a/b", "sp ace", "é", &"r".repeat(65)] {
            assert_eq!(room_name(bad).expect_err(bad).code, ErrorCode::BadRoom);
        }
    }

    #[test]
    fn client_secret_is_32_lower_hex() {
        assert!(client_secret(&"0a".repeat(16)).is_ok());
        for bad in ["", &"0A".repeat(16), &"0a".repeat(17), &"zz".repeat(16)] {
            assert_eq!(
                client_secret(bad).expect_err(bad).code,
                ErrorCode::BadClient
            );
        }
    }

    #[test]
    fn user_id_is_first_12_hex_of_sha256() {
        // sha256("00000000000000000000000000000000") starts with 84e0c0eafaa9 (checked with sha256sum).
        assert_eq!(user_id(&"0".repeat(32)), "84e0c0eafaa9");
        assert_eq!(user_id(&"0".repeat(32)).len(), 12);
    }

    #[test]
    fn item_ids_are_1_to_64_chars() {
        assert!(item_id("c-9").is_ok());
        assert!(item_id(&"x".repeat(64)).is_ok());
        assert!(item_id("").is_err());
        assert!(item_id(&"x".repeat(65)).is_err());
    }

    #[test]
    fn display_names_lose_their_paths() {
        let png = ImageFormat::Png;
        assert_eq!(file_display_name("../../etc/passwd", png), "passwd");
        assert_eq!(file_display_name("C:\\Users\\a\\cat.png", png), "cat.png");
        assert_eq!(file_display_name("dir/", png), "image.png");
        assert_eq!(file_display_name("..", ImageFormat::Jpeg), "image.jpg");
        assert_eq!(file_display_name(".", png), "image.png");
        assert_eq!(file_display_name("", ImageFormat::Gif), "image.gif");
        assert_eq!(file_display_name("a\u{0}b\nc.png", png), "abc.png");
        assert_eq!(file_display_name(&"n".repeat(999), png).len(), 255);
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }

    #[test]
    fn preview_rules() {
        // A 1x1 PNG.
        let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82";
        assert!(preview(png).is_ok());
        let mut wide = png.to_vec();
        wide[16..20].copy_from_slice(&257u32.to_be_bytes());
        assert_eq!(preview(&wide).expect_err("wide").code, ErrorCode::BadImage);
        assert_eq!(
            preview(b"GIF89a\x01\0\x01\0").expect_err("gif").code,
            ErrorCode::BadImage
        );
        let mut big = png.to_vec();
        big.resize(MAX_PREVIEW_BYTES + 1, 0);
        assert_eq!(preview(&big).expect_err("big").code, ErrorCode::BadImage);
    }
}
