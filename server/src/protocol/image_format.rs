//! The five image formats the contract allows, told apart by their first bytes.

/// An image format a peer may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Png,
    Jpeg,
    Gif,
    Webp,
    Bmp,
}

/// How many leading bytes the first chunk must carry: enough for every signature.
pub const SIGNATURE_BYTES: usize = 12;

impl ImageFormat {
    pub const ALL: [ImageFormat; 5] = [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::Webp,
        ImageFormat::Bmp,
    ];

    pub fn from_mime(mime: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.mime() == mime)
    }

    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
            ImageFormat::Bmp => "image/bmp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Gif => "gif",
            ImageFormat::Webp => "webp",
            ImageFormat::Bmp => "bmp",
        }
    }

    /// True when `bytes` start with this format's signature. Too few bytes never match.
    pub fn matches_signature(self, bytes: &[u8]) -> bool {
        match self {
            ImageFormat::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            ImageFormat::Jpeg => bytes.starts_with(b"\xff\xd8\xff"),
            ImageFormat::Gif => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
            ImageFormat::Webp => {
                bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP"
            }
            ImageFormat::Bmp => bytes.starts_with(b"BM"),
        }
    }

    /// The format whose signature `bytes` start with, if any: the real format,
    /// whatever a file's name says.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.matches_signature(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_signature() {
        let cases: [(&[u8], ImageFormat); 6] = [
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", ImageFormat::Png),
            (b"\xff\xd8\xff\xe0\0\x10JFIF\0", ImageFormat::Jpeg),
            (b"GIF89a\x01\0\x01\0\0\0", ImageFormat::Gif),
            (b"GIF87a\x01\0\x01\0\0\0", ImageFormat::Gif),
            (b"RIFF\x24\0\0\0WEBPVP8 ", ImageFormat::Webp),
            (b"BM\x36\0\0\0\0\0\0\0\x36\0", ImageFormat::Bmp),
        ];
        for (bytes, format) in cases {
            assert_eq!(ImageFormat::sniff(bytes), Some(format));
        }
    }

    #[test]
    fn rejects_non_images_and_truncated_signatures() {
        assert_eq!(ImageFormat::sniff(b"%PDF-1.7 hello"), None);
        assert_eq!(ImageFormat::sniff(b"\x89PNG"), None);
        assert_eq!(ImageFormat::sniff(b"RIFF\x24\0\0\0WAVE"), None);
        assert_eq!(ImageFormat::sniff(b""), None);
    }

    #[test]
    fn mime_round_trip() {
        for f in ImageFormat::ALL {
            assert_eq!(ImageFormat::from_mime(f.mime()), Some(f));
        }
        assert_eq!(ImageFormat::from_mime("image/svg+xml"), None);
        assert_eq!(ImageFormat::from_mime("IMAGE/PNG"), None);
    }
}
