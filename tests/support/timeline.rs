//! What a person sees in a model, for the tests that check nothing is lost,
//! doubled or half there (`app_net_cuts`, `app_net_restart`).

use bytes::Bytes;
use sha2::{Digest, Sha256};
use snapwire::state::{Body, ImageState, Model};

use super::member::Member;
use super::prepared;

/// A text or an image's bytes, as sent and as shown.
#[derive(Clone, PartialEq)]
pub enum Item {
    Text(String),
    Image(Bytes),
}

impl Item {
    /// Bytes on the wire (a text's UTF-8, an image's file).
    pub fn size(&self) -> usize {
        match self {
            Item::Text(text) => text.len(),
            Item::Image(bytes) => bytes.len(),
        }
    }
}

/// Sends each item under its id.
pub fn send(member: &mut Member, items: &[(String, Item)]) {
    for (id, item) in items {
        match item {
            Item::Text(text) => member.send_text(id, text),
            Item::Image(bytes) => {
                member.send_image(id, prepared(&format!("{id}.png"), bytes.to_vec()));
            }
        }
    }
}

/// (seq, text or image bytes) of each text and image in `model`, in timeline
/// order; panics on anything half there (pending, streaming, cancelled, failed,
/// or an image whose bytes do not match its SHA-256).
pub fn shown(who: &str, model: &Model) -> Vec<(u64, Item)> {
    let mut shown = Vec::new();
    for entry in &model.entries {
        let item = match &entry.body {
            Body::Notice(_) => continue,
            Body::Text { text, failed } => {
                assert!(failed.is_none(), "{who}: a failed text: {text}");
                Item::Text(text.clone())
            }
            Body::Image(image) => {
                assert_eq!(
                    image.state,
                    ImageState::Ready,
                    "{who}: an image not whole: {}",
                    image.name()
                );
                let bytes = image
                    .bytes
                    .clone()
                    .expect("a ready image's bytes in memory");
                let meta = image.meta.as_ref().expect("a ready image's meta");
                assert_eq!(
                    hex::encode(Sha256::digest(&bytes)),
                    meta.sha256,
                    "{who}: {}",
                    image.name()
                );
                Item::Image(bytes)
            }
        };
        let seq = entry
            .seq
            .unwrap_or_else(|| panic!("{who}: an item without a seq (pending or half)"));
        shown.push((seq, item));
    }
    shown
}
