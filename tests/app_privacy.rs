//! Metadata removal and "Smaller", on files built here: a JPEG with a GPS
//! EXIF block goes in; what would be sent has no EXIF, hashes as sent, and
//! decodes to the very same pixels (no re-encode).

use std::io::Cursor;

use bytes::Bytes;
use img_parts::ImageEXIF;
use img_parts::jpeg::Jpeg;
use img_parts::png::{Png, PngChunk};
use sha2::{Digest, Sha256};
use snapwire::media::{self, SendOptions};
use snapwire::privacy::{self, MetadataOutcome};
use snapwire_relay::protocol::ImageFormat;

/// A big-endian TIFF/EXIF block: IFD0 points at a GPS IFD holding 52°31'N.
fn gps_exif() -> Bytes {
    let mut e = Vec::new();
    e.extend_from_slice(b"MM\0\x2a");
    e.extend_from_slice(&8u32.to_be_bytes());
    // IFD0: one entry, GPSInfo -> offset 26.
    e.extend_from_slice(&1u16.to_be_bytes());
    e.extend_from_slice(&0x8825u16.to_be_bytes());
    e.extend_from_slice(&4u16.to_be_bytes());
    e.extend_from_slice(&1u32.to_be_bytes());
    e.extend_from_slice(&26u32.to_be_bytes());
    e.extend_from_slice(&0u32.to_be_bytes());
    // GPS IFD at 26: LatitudeRef "N", Latitude 3 rationals at offset 56.
    e.extend_from_slice(&2u16.to_be_bytes());
    e.extend_from_slice(&1u16.to_be_bytes());
    e.extend_from_slice(&2u16.to_be_bytes());
    e.extend_from_slice(&2u32.to_be_bytes());
    e.extend_from_slice(b"N\0\0\0");
    e.extend_from_slice(&2u16.to_be_bytes());
    e.extend_from_slice(&5u16.to_be_bytes());
    e.extend_from_slice(&3u32.to_be_bytes());
    e.extend_from_slice(&56u32.to_be_bytes());
    e.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(e.len(), 56);
    for (num, den) in [(52u32, 1u32), (31, 1), (0, 1)] {
        e.extend_from_slice(&num.to_be_bytes());
        e.extend_from_slice(&den.to_be_bytes());
    }
    Bytes::from(e)
}

fn photo(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x * 7 % 256) as u8,
            (y * 5 % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    })
}

fn jpeg_with_gps(w: u32, h: u32) -> Vec<u8> {
    let mut plain = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90);
    photo(w, h).write_with_encoder(encoder).expect("encode");
    let mut jpeg = Jpeg::from_bytes(Bytes::from(plain)).expect("parse");
    jpeg.set_exif(Some(gps_exif()));
    // An XMP packet as cameras write it, location included.
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend_from_slice(b"<x:xmpmeta><exif:GPSLatitude>52,31N</exif:GPSLatitude></x:xmpmeta>");
    jpeg.segments_mut().insert(
        1,
        img_parts::jpeg::JpegSegment::new_with_contents(
            img_parts::jpeg::markers::APP1,
            Bytes::from(xmp),
        ),
    );
    jpeg.encoder().bytes().to_vec()
}

fn pixels(bytes: &[u8]) -> image::RgbaImage {
    media::decode(bytes).expect("decodes").to_rgba8()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_jpeg_with_gps_is_sent_without_metadata_and_the_same_pixels() {
    let original = jpeg_with_gps(64, 48);
    assert!(privacy::has_exif(&original, ImageFormat::Jpeg));
    assert!(contains(&original, b"GPSLatitude"));

    let (sent, outcome) = media::prepare_with(
        "holiday.jpg",
        Bytes::from(original.clone()),
        1 << 30,
        SendOptions::default(),
    )
    .expect("prepared");
    assert_eq!(outcome, MetadataOutcome::Removed);
    assert_eq!(outcome.words(), "metadata removed");
    assert!(
        !privacy::has_exif(&sent.bytes, ImageFormat::Jpeg),
        "EXIF gone"
    );
    assert!(
        !contains(&sent.bytes, b"Exif\0\0"),
        "no EXIF segment at all"
    );
    assert!(!contains(&sent.bytes, b"GPSLatitude"), "XMP gone");
    assert!(sent.bytes.len() < original.len());
    assert_eq!(pixels(&sent.bytes), pixels(&original), "not re-encoded");
    assert_eq!(
        sent.meta.sha256,
        hex::encode(Sha256::digest(&sent.bytes)),
        "the hash is of the sent bytes"
    );
    assert_eq!(sent.meta.size, sent.bytes.len() as u64);
    assert_eq!(sent.meta.name, "holiday.jpg");
    assert!(sent.preview.is_some());
}

#[test]
fn keeping_originals_sends_the_file_untouched() {
    let original = jpeg_with_gps(32, 32);
    let (sent, outcome) = media::prepare_with(
        "a.jpg",
        Bytes::from(original.clone()),
        1 << 30,
        SendOptions {
            strip_metadata: false,
            smaller: false,
        },
    )
    .expect("prepared");
    assert_eq!(outcome, MetadataOutcome::Kept);
    assert_eq!(outcome.words(), "original");
    assert_eq!(&sent.bytes[..], &original[..]);
}

#[test]
fn a_plain_file_says_there_was_nothing_to_remove() {
    let mut png = Vec::new();
    photo(8, 8)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    let (sent, outcome) = media::prepare_with(
        "p.png",
        Bytes::from(png.clone()),
        1 << 30,
        SendOptions::default(),
    )
    .expect("prepared");
    assert_eq!(outcome, MetadataOutcome::NoneFound);
    assert_eq!(&sent.bytes[..], &png[..]);
}

#[test]
fn png_text_and_exif_chunks_are_removed_losslessly() {
    let mut plain = Vec::new();
    photo(20, 10)
        .write_to(&mut Cursor::new(&mut plain), image::ImageFormat::Png)
        .expect("png");
    let mut png = Png::from_bytes(Bytes::from(plain)).expect("parse");
    png.set_exif(Some(gps_exif()));
    let pos = png.chunks().len() - 1;
    png.chunks_mut().insert(
        pos,
        PngChunk::new(*b"tEXt", Bytes::from_static(b"Comment\0taken at home")),
    );
    let original = png.encoder().bytes();
    let (stripped, removed) =
        privacy::strip_metadata(original.clone(), ImageFormat::Png).expect("strip");
    assert!(removed);
    assert!(!privacy::has_exif(&stripped, ImageFormat::Png));
    assert!(!contains(&stripped, b"taken at home"));
    assert_eq!(pixels(&stripped), pixels(&original));
}

#[test]
fn the_orientation_survives_stripping() {
    let mut plain = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut plain, 90);
    photo(16, 8).write_with_encoder(encoder).expect("encode");
    let mut jpeg = Jpeg::from_bytes(Bytes::from(plain)).expect("parse");
    // IFD0 with Orientation = 6 (rotate 90) and GPSInfo.
    let mut e = Vec::new();
    e.extend_from_slice(b"MM\0\x2a");
    e.extend_from_slice(&8u32.to_be_bytes());
    e.extend_from_slice(&1u16.to_be_bytes());
    e.extend_from_slice(&0x0112u16.to_be_bytes());
    e.extend_from_slice(&3u16.to_be_bytes());
    e.extend_from_slice(&1u32.to_be_bytes());
    e.extend_from_slice(&[0, 6, 0, 0]);
    e.extend_from_slice(&0u32.to_be_bytes());
    jpeg.set_exif(Some(Bytes::from(e)));
    let original = jpeg.encoder().bytes();
    let (stripped, removed) = privacy::strip_metadata(original, ImageFormat::Jpeg).expect("strip");
    assert!(removed);
    let exif = Jpeg::from_bytes(stripped)
        .expect("parse")
        .exif()
        .expect("orientation kept");
    assert_eq!(
        image::metadata::Orientation::from_exif_chunk(&exif),
        Some(image::metadata::Orientation::Rotate90)
    );
}

#[test]
fn smaller_fits_2048_and_carries_no_metadata() {
    let big = jpeg_with_gps(3000, 1000);
    let (sent, outcome) = media::prepare_with(
        "wide.jpg",
        Bytes::from(big.clone()),
        1 << 30,
        SendOptions {
            strip_metadata: false,
            smaller: true,
        },
    )
    .expect("prepared");
    assert_eq!(outcome, MetadataOutcome::Smaller);
    assert_eq!(outcome.words(), "made smaller, metadata removed");
    assert_eq!((sent.meta.width, sent.meta.height), (Some(2048), Some(683)));
    assert!(!privacy::has_exif(&sent.bytes, ImageFormat::Jpeg));
    assert!(sent.bytes.len() < big.len());

    // A PNG made smaller is a JPEG, and its name says so.
    let mut png = Vec::new();
    photo(2500, 400)
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    let (sent, _) = media::prepare_with(
        "shot.png",
        Bytes::from(png),
        1 << 30,
        SendOptions {
            strip_metadata: true,
            smaller: true,
        },
    )
    .expect("prepared");
    assert_eq!(sent.meta.mime, "image/jpeg");
    assert_eq!(sent.meta.name, "shot.jpg");
}

#[test]
fn inspect_reads_the_header_and_estimates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.jpg");
    std::fs::write(&path, jpeg_with_gps(3000, 1000)).expect("write");
    let found = privacy::inspect(&path).expect("inspect");
    assert_eq!((found.width, found.height), (3000, 1000));
    assert_eq!(found.format, ImageFormat::Jpeg);
    assert!(found.smaller <= found.size);
    std::fs::write(&path, b"not an image").expect("write");
    assert!(privacy::inspect(&path).is_err());
}
