//! The on-disk format of one retained item, and its parsing.
//!
//! An item file is `[body][preview][meta JSON][u32 BE meta length][magic]`:
//! the body (an image's bytes, or a text's UTF-8) comes first so an image can
//! stream straight into the file while it arrives; everything that is only
//! known at completion (seq, ts, the preview) goes in the footer, written in
//! one go just before the file is made durable and renamed into place. A file
//! whose footer does not add up was never acked, so recovery may delete it.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{Content, ImageMeta, Item};
use crate::protocol::User;

/// The last 8 bytes of every complete item file (format version 1).
pub(crate) const MAGIC: &[u8; 8] = b"SNAPWIR1";
/// Meta length (u32 BE) plus magic.
pub(crate) const TRAILER_LEN: u64 = 4 + MAGIC.len() as u64;
/// Far more than any legitimate meta (its strings come from a header of at
/// most 16 KiB, at most 6 times longer once JSON-escaped); bounds what a
/// damaged file can make us allocate.
const MAX_META_LEN: u64 = 1024 * 1024;

/// The item's metadata as stored in the footer.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub seq: u64,
    pub ts: u64,
    pub from: User,
    pub client_key: String,
    pub item_id: String,
    pub kind: Kind,
    /// Bytes of body at the start of the file.
    pub body_len: u64,
    /// Bytes of preview right after the body.
    pub preview_len: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageFields>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Text,
    Image,
}

/// An image's metadata, except the preview which has its own region.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ImageFields {
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
}

impl Meta {
    /// The footer describing `item`.
    pub(crate) fn of(item: &Item) -> Meta {
        let (kind, body_len, preview_len, image) = match &item.content {
            Content::Text(text) => (Kind::Text, text.len() as u64, 0, None),
            Content::Image(image) => (
                Kind::Image,
                image.size,
                image.preview.len() as u64,
                Some(ImageFields {
                    name: image.name.clone(),
                    mime: image.mime.clone(),
                    size: image.size,
                    sha256: image.sha256.clone(),
                    width: image.width,
                    height: image.height,
                }),
            ),
        };
        Meta {
            seq: item.seq,
            ts: item.ts,
            from: item.from.clone(),
            client_key: item.client_key.clone(),
            item_id: item.item_id.clone(),
            kind,
            body_len,
            preview_len,
            image,
        }
    }

    /// The whole file length this meta implies, given its encoded length.
    pub(crate) fn file_len(&self, meta_len: u64) -> Option<u64> {
        self.body_len
            .checked_add(self.preview_len)?
            .checked_add(meta_len)?
            .checked_add(TRAILER_LEN)
    }

    /// Rebuilds the item; `body` is the text (for a text item, else ignored)
    /// and `preview` the image's preview.
    pub(crate) fn into_item(self, body: Bytes, preview: Bytes) -> Result<Item, String> {
        let content = match (self.kind, self.image) {
            (Kind::Text, None) => {
                if self.preview_len != 0 {
                    return Err("a text item with a preview".to_owned());
                }
                if std::str::from_utf8(&body).is_err() {
                    return Err("text is not UTF-8".to_owned());
                }
                Content::Text(body)
            }
            (Kind::Image, Some(image)) => {
                if image.size != self.body_len {
                    return Err(format!(
                        "image size {} but body length {}",
                        image.size, self.body_len
                    ));
                }
                Content::Image(ImageMeta {
                    name: image.name,
                    mime: image.mime,
                    size: image.size,
                    sha256: image.sha256,
                    width: image.width,
                    height: image.height,
                    preview,
                })
            }
            (kind, _) => return Err(format!("{kind:?} item with mismatched image fields")),
        };
        Ok(Item {
            seq: self.seq,
            ts: self.ts,
            from: self.from,
            client_key: self.client_key,
            item_id: self.item_id,
            content,
        })
    }
}

/// Everything that follows the body: preview, meta JSON, meta length, magic.
pub(crate) fn footer(item: &Item) -> Result<Vec<u8>, String> {
    let meta = serde_json::to_vec(&Meta::of(item)).map_err(|e| format!("encoding meta: {e}"))?;
    let meta_len = u32::try_from(meta.len())
        .ok()
        .filter(|&n| u64::from(n) <= MAX_META_LEN)
        .ok_or_else(|| format!("meta of {} bytes is too large", meta.len()))?;
    let preview: &[u8] = match &item.content {
        Content::Text(_) => &[],
        Content::Image(image) => &image.preview,
    };
    let mut out = Vec::with_capacity(preview.len() + meta.len() + TRAILER_LEN as usize);
    out.extend_from_slice(preview);
    out.extend_from_slice(&meta);
    out.extend_from_slice(&meta_len.to_be_bytes());
    out.extend_from_slice(MAGIC);
    Ok(out)
}

/// Reads the trailer (the last [`TRAILER_LEN`] bytes): the meta length, if
/// the magic is right and the length plausible for a file of `file_len` bytes.
pub(crate) fn parse_trailer(trailer: &[u8], file_len: u64) -> Result<u64, String> {
    let (len_bytes, magic) = trailer
        .split_first_chunk::<4>()
        .ok_or_else(|| "short trailer".to_owned())?;
    if magic != MAGIC {
        return Err("bad magic (incomplete or foreign file)".to_owned());
    }
    let meta_len = u64::from(u32::from_be_bytes(*len_bytes));
    if meta_len > MAX_META_LEN || meta_len + TRAILER_LEN > file_len {
        return Err(format!("meta length {meta_len} does not fit"));
    }
    Ok(meta_len)
}

/// Parses the meta JSON and checks it against the file it came from.
pub(crate) fn parse_meta(json: &[u8], meta_len: u64, file_len: u64) -> Result<Meta, String> {
    let meta: Meta = serde_json::from_slice(json).map_err(|e| format!("bad meta JSON: {e}"))?;
    match meta.file_len(meta_len) {
        Some(expected) if expected == file_len => Ok(meta),
        expected => Err(format!(
            "file is {file_len} bytes but its meta implies {expected:?}"
        )),
    }
}

/// Parses a whole item file held in memory (used for small files and tests).
#[cfg(test)]
pub(crate) fn decode(file: &[u8]) -> Result<Item, String> {
    let file_len = file.len() as u64;
    if file_len < TRAILER_LEN {
        return Err("shorter than a trailer".to_owned());
    }
    let trailer_at = file.len() - TRAILER_LEN as usize;
    let meta_len = parse_trailer(&file[trailer_at..], file_len)?;
    let meta_at = trailer_at - meta_len as usize;
    let meta = parse_meta(&file[meta_at..trailer_at], meta_len, file_len)?;
    // parse_meta checked body + preview + meta + trailer == file length.
    let body_len = meta.body_len as usize;
    let preview_len = meta.preview_len as usize;
    let body = Bytes::copy_from_slice(&file[..body_len]);
    let preview = Bytes::copy_from_slice(&file[body_len..body_len + preview_len]);
    meta.into_item(body, preview)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: "3f9a1c0b7d2e".to_owned(),
            name: "Ana".to_owned(),
        }
    }

    fn text_item() -> Item {
        Item {
            seq: 7,
            ts: 1_764_100_000_123,
            from: user(),
            client_key: "ab".repeat(32),
            item_id: "c-1".to_owned(),
            content: Content::Text(Bytes::from_static("héllo".as_bytes())),
        }
    }

    fn image_item(body: &[u8]) -> Item {
        Item {
            seq: 9,
            ts: 5,
            from: user(),
            client_key: "cd".repeat(32),
            item_id: "c-2".to_owned(),
            content: Content::Image(ImageMeta {
                name: "cat.png".to_owned(),
                mime: "image/png".to_owned(),
                size: body.len() as u64,
                sha256: "00".repeat(32),
                width: Some(640),
                height: None,
                preview: Bytes::from_static(b"PREVIEW"),
            }),
        }
    }

    fn encode(item: &Item, body: &[u8]) -> Vec<u8> {
        let mut file = body.to_vec();
        file.extend(footer(item).expect("footer encodes"));
        file
    }

    #[test]
    fn text_round_trips() {
        let item = text_item();
        let file = encode(&item, "héllo".as_bytes());
        assert_eq!(decode(&file).expect("decodes"), item);
    }

    #[test]
    fn image_round_trips() {
        let body = b"\x89PNG\r\n\x1a\nrest of it";
        let item = image_item(body);
        let file = encode(&item, body);
        assert_eq!(decode(&file).expect("decodes"), item);
    }

    #[test]
    fn every_truncation_is_rejected() {
        let body = b"\x89PNG\r\n\x1a\nrest";
        let file = encode(&image_item(body), body);
        for cut in 0..file.len() {
            assert!(decode(&file[..cut]).is_err(), "cut at {cut} accepted");
        }
    }

    #[test]
    fn a_trailing_extra_byte_is_rejected() {
        let item = text_item();
        let mut file = encode(&item, "héllo".as_bytes());
        file.push(0);
        assert!(decode(&file).is_err());
    }

    proptest::proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = decode(&bytes);
            // Garbage that ends with a valid-looking trailer must not panic either.
            let mut tailed = bytes.clone();
            tailed.extend_from_slice(&(bytes.len() as u32 / 2).to_be_bytes());
            tailed.extend_from_slice(MAGIC);
            let _ = decode(&tailed);
        }
    }
}
