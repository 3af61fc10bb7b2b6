//! The committed fuzz corpus (`server/fuzz/corpus/<target>/`), and every crash the
//! fuzzers found (`server/fuzz/regressions/<target>/`), run on stable through the same
//! checks the fuzz targets make (`server/fuzz/harness.rs`). The fuzzers themselves run
//! on nightly: see `docs/RELIABILITY.md`.

#[path = "../fuzz/harness.rs"]
mod harness;

mod common;

use std::path::{Path, PathBuf};

/// Every file of the corpus and of the regressions of `target`.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("list the corpus").path();
            if path.is_file() {
                let bytes = std::fs::read(&path).expect("read a corpus file");
                inputs.push((path, bytes));
            }
        }
    }
    inputs.sort();
    inputs
}

/// Runs `check` on every input of `target`; there must be some.
fn run(target: &str, check: impl Fn(&[u8])) {
    let inputs = inputs(target);
    assert!(
        inputs.len() >= 5,
        "server/fuzz/corpus/{target}/ holds only {} inputs",
        inputs.len()
    );
    for (path, bytes) in inputs {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&bytes)));
        assert!(outcome.is_ok(), "{} fails its check", path.display());
    }
}

#[test]
fn frame_corpus() {
    run("frame", harness::frame);
}

#[test]
fn hello_corpus() {
    run("hello", harness::hello);
}

#[test]
fn image_corpus() {
    run("image", harness::image);
}

#[test]
fn store_corpus() {
    run("store", |data| {
        let dir = common::TempDir::new("fuzz-store");
        harness::store(dir.path(), data);
    });
}

/// The store inputs round-trip through their encoding (the seeds below rely on it).
#[test]
fn store_inputs_round_trip() {
    use harness::StoreFile;
    let files = vec![
        StoreFile::RoomFile(b"{}".to_vec()),
        StoreFile::Item(3, b"body".to_vec()),
        StoreFile::Stray("junk".to_owned(), b"x".to_vec()),
        StoreFile::Temp("upload-1".to_owned(), Vec::new()),
    ];
    let encoded = harness::store_input(4, &files);
    assert_eq!(harness::parse_store_input(&encoded), (4, files));
}

/// Writes seed inputs for the `store` target from a real data directory: a room with
/// texts and images, then damaged in the ways a crash can leave it. Run by hand:
/// `cargo test -p snapwire-relay --test fuzz_corpus -- --ignored write_store_seeds`.
#[test]
#[ignore = "writes server/fuzz/corpus/store/; run by hand"]
fn write_store_seeds() {
    use bytes::Bytes;
    use harness::StoreFile;
    use snapwire_relay::protocol::User;
    use snapwire_relay::store::{Content, ImageMeta, NewItem, Store};
    use snapwire_relay::{Retention, Storage};

    let dir = common::TempDir::new("store-seeds");
    let storage = Storage::Disk(dir.path().to_path_buf());
    {
        let store = Store::open(&storage, Retention::default()).expect("open");
        let room = store.room(harness::STORE_ROOM).expect("room");
        let from = User {
            id: "0123456789ab".to_owned(),
            name: "Ana".to_owned(),
        };
        for i in 0..3 {
            let text = NewItem {
                from: from.clone(),
                client_key: "a".repeat(64),
                item_id: format!("t-{i}"),
                content: Content::Text(Bytes::from(format!("hello {i}"))),
            };
            room.commit(text, None).expect("commit a text");
            let bytes = common::fake_png(200 + i * 50, i as u8);
            let mut upload = room.begin_upload().expect("upload");
            upload.write(&Bytes::from(bytes.clone())).expect("write");
            let image = NewItem {
                from: from.clone(),
                client_key: "a".repeat(64),
                item_id: format!("i-{i}"),
                content: Content::Image(ImageMeta {
                    name: "cat.png".to_owned(),
                    mime: "image/png".to_owned(),
                    size: bytes.len() as u64,
                    sha256: common::sha256_hex(&bytes),
                    width: Some(4),
                    height: Some(3),
                    preview: Bytes::new(),
                }),
            };
            room.commit(image, Some(upload)).expect("commit an image");
        }
    }
    let room_dir = dir
        .path()
        .join("rooms")
        .join(harness::room_dir_name(harness::STORE_ROOM));
    let room_json = std::fs::read(room_dir.join("room.json")).expect("room.json");
    let mut items = Vec::new();
    for entry in std::fs::read_dir(room_dir.join("items")).expect("items") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let seq: u64 = name.trim_end_matches(".item").parse().expect("seq");
        items.push((seq, std::fs::read(&path).expect("item")));
    }
    items.sort();
    let whole: Vec<StoreFile> = std::iter::once(StoreFile::RoomFile(room_json.clone()))
        .chain(
            items
                .iter()
                .map(|(seq, b)| StoreFile::Item(*seq, b.clone())),
        )
        .collect();
    let (last_seq, last) = items.last().cloned().expect("items");
    let mut seeds: Vec<(&str, u8, Vec<StoreFile>)> = vec![
        ("whole", 7, whole.clone()),
        ("whole-retain-2", 1, whole.clone()),
        ("no-room-file", 7, whole[1..].to_vec()),
        (
            "room-file-only",
            7,
            vec![StoreFile::RoomFile(room_json.clone())],
        ),
    ];
    let mut torn = whole.clone();
    torn.push(StoreFile::Item(
        last_seq + 1,
        last[..last.len() / 2].to_vec(),
    ));
    seeds.push(("torn-last-item", 7, torn));
    let mut leftovers = whole.clone();
    leftovers.push(StoreFile::Temp(
        "upload-1".to_owned(),
        vec![0x89, b'P', b'N', b'G'],
    ));
    leftovers.push(StoreFile::Stray("notes.txt".to_owned(), b"stray".to_vec()));
    seeds.push(("leftovers", 7, leftovers));
    let mut wrong_seq = whole.clone();
    wrong_seq.push(StoreFile::Item(40, last.clone()));
    seeds.push(("item-under-wrong-seq", 7, wrong_seq));
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/store");
    std::fs::create_dir_all(&corpus).expect("corpus dir");
    for (name, max_items, files) in seeds {
        std::fs::write(corpus.join(name), harness::store_input(max_items, &files))
            .expect("write seed");
    }
}

/// The store seeds reach recovery's deep end: whole rooms load, retention applies,
/// a torn last item and leftovers are dropped, a room without room.json is wiped.
#[test]
fn store_seeds_load_what_they_should() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/store");
    for (seed, items) in [
        ("whole", 6),
        ("whole-retain-2", 2),
        ("torn-last-item", 6),
        ("leftovers", 6),
        ("no-room-file", 0),
        ("room-file-only", 0),
    ] {
        let data = std::fs::read(corpus.join(seed)).expect("a committed seed");
        let dir = common::TempDir::new("fuzz-seed");
        assert_eq!(harness::store(dir.path(), &data), items, "{seed}");
    }
}

#[test]
fn session_corpus() {
    run("session", harness::session);
}

/// The session seeds get where they should: a whole image and a text are acked (a
/// re-sent image gets its first ack again), a missing hello is refused and closed.
#[test]
fn session_seeds_reach_the_session() {
    use snapwire_relay::protocol::{ErrorCode, RelayHeader};
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/session");
    let outcome = |seed: &str| {
        let data = std::fs::read(corpus.join(seed)).expect("a committed seed");
        snapwire_relay::fuzzing::connection(harness::session_messages(&data))
    };
    let acks = |seed: &str| -> Vec<u64> {
        outcome(seed)
            .messages
            .iter()
            .filter_map(|m| match &m.header {
                RelayHeader::Ack { seq, .. } => Some(*seq),
                _ => None,
            })
            .collect()
    };
    assert_eq!(acks("text"), vec![1]);
    assert_eq!(acks("whole-image"), vec![1]);
    assert_eq!(acks("image-then-dup"), vec![1, 1]);
    let refused = outcome("no-hello");
    assert!(matches!(
        refused.messages.last().map(|m| &m.header),
        Some(RelayHeader::Error {
            code: ErrorCode::NotHello,
            ..
        })
    ));
    assert_eq!(refused.close, Some(1002));
}
