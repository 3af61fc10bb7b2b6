//! Behaviour of both backends through the public API, and crash recovery on disk.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::*;

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "snapwire-store-test-{}-{n}-{}",
            std::process::id(),
            random_hex(4)
        ));
        fs::create_dir_all(&path).expect("temp dir can be created");
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const ROOMY: Retention = Retention {
    max_items: 500,
    max_bytes: 1 << 30,
};

fn disk_store(dir: &TempDir, retention: Retention) -> Store {
    Store::open(&Storage::Disk(dir.path().to_owned()), retention).expect("disk store opens")
}

/// Runs `test` against a fresh store of each backend.
fn each_backend(retention: Retention, test: impl Fn(&str, Store)) {
    test(
        "memory",
        Store::open(&Storage::Memory, retention).expect("memory store opens"),
    );
    let dir = TempDir::new();
    test("disk", disk_store(&dir, retention));
}

fn ana() -> User {
    User {
        id: "3f9a1c0b7d2e".to_owned(),
        name: "Ana".to_owned(),
    }
}

fn text(id: &str, body: &str) -> NewItem {
    NewItem {
        from: ana(),
        client_key: "ab".repeat(32),
        item_id: id.to_owned(),
        content: Content::Text(Bytes::copy_from_slice(body.as_bytes())),
    }
}

/// A fake image of `len` bytes whose content depends on `seed`.
fn image_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn commit_image(room: &RoomStore, id: &str, bytes: &[u8], preview: &[u8]) -> Arc<Item> {
    let mut upload = room.begin_upload().expect("upload begins");
    // In uneven chunks, as they come off the wire.
    for chunk in bytes.chunks(7000) {
        upload
            .write(&Bytes::copy_from_slice(chunk))
            .expect("upload writes");
    }
    let new = NewItem {
        from: ana(),
        client_key: "cd".repeat(32),
        item_id: id.to_owned(),
        content: Content::Image(ImageMeta {
            name: "cat.png".to_owned(),
            mime: "image/png".to_owned(),
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
            width: Some(640),
            height: Some(480),
            preview: Bytes::copy_from_slice(preview),
        }),
    };
    room.commit(new, Some(upload)).expect("image commits")
}

fn seqs(items: &[Arc<Item>]) -> Vec<u64> {
    items.iter().map(|item| item.seq).collect()
}

fn read_all(room: &RoomStore, item: &Item) -> Vec<u8> {
    let Content::Image(image) = &item.content else {
        panic!("item {} is not an image", item.seq);
    };
    let len = usize::try_from(image.size).expect("test images are small");
    room.read_image(item, 0, len).expect("image reads").to_vec()
}

fn item_files(room: &RoomStore) -> Vec<String> {
    let dir = room.dir().expect("disk room").join("items");
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("items dir lists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn tmp_entries(room: &RoomStore) -> usize {
    fs::read_dir(room.dir().expect("disk room").join("tmp"))
        .expect("tmp dir lists")
        .count()
}

#[test]
fn texts_and_images_round_trip_byte_exact() {
    each_backend(ROOMY, |backend, store| {
        let room = store.room("lobby").expect("room opens");
        assert_eq!(room.last_seq(), 0, "{backend}");
        assert_eq!(room.items_after(0, 10), vec![], "{backend}");

        let t = room
            .commit(text("c-1", "héllo 👋"), None)
            .expect("text commits");
        assert_eq!(t.seq, 1, "{backend}");
        assert_eq!(t.content, Content::Text(Bytes::from("héllo 👋")));

        let body = image_bytes(100_000, 3);
        let i = commit_image(&room, "c-2", &body, b"tiny preview");
        assert_eq!(i.seq, 2, "{backend}");
        assert!(i.ts >= t.ts, "{backend}: ts went backwards");
        assert_eq!(read_all(&room, &i), body, "{backend}");
        assert_eq!(
            &room.read_image(&i, 10, 5).expect("reads")[..],
            &body[10..15]
        );
        // Clipped to the image, and empty past its end.
        assert_eq!(
            &room.read_image(&i, 99_990, 100).expect("reads")[..],
            &body[99_990..]
        );
        assert!(room.read_image(&i, 100_000, 10).expect("reads").is_empty());
        assert!(
            room.read_image(&i, u64::MAX, usize::MAX)
                .expect("reads")
                .is_empty()
        );
        // A text is not an image.
        assert!(matches!(
            room.read_image(&t, 0, 1),
            Err(StoreError::Corrupt(_))
        ));

        assert_eq!(room.last_seq(), 2);
        assert_eq!(seqs(&room.items_after(0, 10)), vec![1, 2], "{backend}");
        assert_eq!(room.items_after(1, 10)[0], i);
        assert_eq!(room.count_after(0), 2);
        assert_eq!(room.find(&"ab".repeat(32), "c-1"), Some((1, t.ts)));
        assert_eq!(room.find(&"cd".repeat(32), "c-2"), Some((2, i.ts)));
        assert_eq!(room.find(&"cd".repeat(32), "c-1"), None);
        assert_eq!(room.get(2).as_ref(), Some(&i));
        assert!(Arc::ptr_eq(
            &room,
            &store.room("lobby").expect("room opens")
        ));
        assert!(!Arc::ptr_eq(
            &room,
            &store.room("other").expect("room opens")
        ));
    });
}

#[test]
fn uploads_hash_incrementally_and_clean_up() {
    each_backend(ROOMY, |backend, store| {
        let room = store.room("lobby").expect("room opens");
        let mut upload = room.begin_upload().expect("upload begins");
        assert!(upload.is_empty());
        upload.write(&Bytes::from_static(b"abc")).expect("writes");
        assert_eq!(upload.sha256_hex(), hex::encode(Sha256::digest(b"abc")));
        upload.write(&Bytes::from_static(b"def")).expect("writes");
        assert_eq!(upload.sha256_hex(), hex::encode(Sha256::digest(b"abcdef")));
        assert_eq!(upload.len(), 6);
        if backend == "disk" {
            assert_eq!(tmp_entries(&room), 1);
        }
        drop(upload);
        if backend == "disk" {
            assert_eq!(tmp_entries(&room), 0, "a dropped upload leaves its file");
        }

        // An upload that does not match the image is refused and takes no seq.
        let mut upload = room.begin_upload().expect("upload begins");
        upload.write(&Bytes::from_static(b"abc")).expect("writes");
        let mut new = text("c-1", "x");
        new.content = Content::Image(ImageMeta {
            name: "a.png".to_owned(),
            mime: "image/png".to_owned(),
            size: 4,
            sha256: hex::encode(Sha256::digest(b"abc")),
            width: None,
            height: None,
            preview: Bytes::new(),
        });
        assert!(matches!(
            room.commit(new, Some(upload)),
            Err(StoreError::Corrupt(_))
        ));
        assert!(
            room.commit(text("c-2", "x"), Some(room.begin_upload().expect("begins")))
                .is_err()
        );
        assert_eq!(room.last_seq(), 0, "{backend}");
        if backend == "disk" {
            assert_eq!(tmp_entries(&room), 0);
        }
    });
}

#[test]
fn a_resent_item_gets_the_original() {
    each_backend(ROOMY, |backend, store| {
        let room = store.room("lobby").expect("room opens");
        let first = room.commit(text("c-1", "once"), None).expect("commits");
        let again = room
            .commit_or_existing(text("c-1", "once"), None)
            .expect("commits");
        assert!(
            matches!(&again, Committed::Existing(item) if *item == first),
            "{backend}"
        );
        assert_eq!(room.last_seq(), 1);
        assert_eq!(room.count_after(0), 1);
    });
}

#[test]
fn memory_rooms_get_a_new_epoch_each_run() {
    let a = Store::open(&Storage::Memory, ROOMY).expect("opens");
    let b = Store::open(&Storage::Memory, ROOMY).expect("opens");
    let epoch = a.room("lobby").expect("room").epoch();
    assert!(epoch.len() >= 8 && epoch.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(a.room("lobby").expect("room").epoch(), epoch);
    assert_ne!(b.room("lobby").expect("room").epoch(), epoch);
}

#[test]
fn disk_items_seq_and_epoch_survive_a_restart() {
    let dir = TempDir::new();
    let body = image_bytes(50_000, 9);
    let (epoch, before) = {
        let store = disk_store(&dir, ROOMY);
        let room = store.room("lobby").expect("room opens");
        room.commit(text("c-1", "one"), None).expect("commits");
        commit_image(&room, "c-2", &body, b"pv");
        room.commit(text("c-3", "three"), None).expect("commits");
        (room.epoch(), room.items_after(0, 10))
    };

    let store = disk_store(&dir, ROOMY);
    let room = store.room("lobby").expect("room reopens");
    assert_eq!(room.epoch(), epoch);
    assert_eq!(room.last_seq(), 3);
    assert_eq!(room.pruned_through(), 0);
    let after = room.items_after(0, 10);
    assert_eq!(after, before, "items reload with all their metadata");
    assert_eq!(read_all(&room, &after[1]), body);
    assert_eq!(room.find(&"cd".repeat(32), "c-2"), Some((2, after[1].ts)));
    let next = room.commit(text("c-4", "four"), None).expect("commits");
    assert_eq!(next.seq, 4);
    assert!(next.ts >= after[2].ts);

    // Another room of the same store has its own epoch and seqs.
    let other = store.room("other").expect("room opens");
    assert_ne!(other.epoch(), epoch);
    assert_eq!(other.last_seq(), 0);
}

#[test]
fn wiping_room_json_starts_a_new_epoch() {
    let dir = TempDir::new();
    let (epoch, room_dir) = {
        let store = disk_store(&dir, ROOMY);
        let room = store.room("lobby").expect("room opens");
        room.commit(text("c-1", "one"), None).expect("commits");
        (room.epoch(), room.dir().expect("disk").to_owned())
    };
    fs::remove_file(room_dir.join("room.json")).expect("room.json removed");
    let room = disk_store(&dir, ROOMY).room("lobby").expect("room reopens");
    assert_ne!(room.epoch(), epoch);
    assert_eq!(room.count_after(0), 0, "items of a lost epoch are wiped");
    assert!(item_files(&room).is_empty());

    // Damaged rather than missing: the same.
    let epoch = room.epoch();
    drop(room);
    fs::write(room_dir.join("room.json"), b"{\"room\":\"lob").expect("written");
    let room = disk_store(&dir, ROOMY).room("lobby").expect("room reopens");
    assert_ne!(room.epoch(), epoch);
}

#[test]
fn a_room_json_of_another_room_is_an_error_not_a_wipe() {
    let dir = TempDir::new();
    let room_dir = {
        let store = disk_store(&dir, ROOMY);
        let room = store.room("lobby").expect("room opens");
        room.commit(text("c-1", "one"), None).expect("commits");
        room.dir().expect("disk").to_owned()
    };
    let json = fs::read_to_string(room_dir.join("room.json")).expect("readable");
    fs::write(
        room_dir.join("room.json"),
        json.replace("lobby", "impostor"),
    )
    .expect("written");
    let store = disk_store(&dir, ROOMY);
    assert!(matches!(store.room("lobby"), Err(StoreError::Corrupt(_))));
    assert_eq!(
        fs::read_dir(room_dir.join("items")).expect("kept").count(),
        1
    );
}

#[test]
fn prunes_by_count() {
    let retention = Retention {
        max_items: 3,
        max_bytes: 1 << 30,
    };
    each_backend(retention, |backend, store| {
        let room = store.room("lobby").expect("room opens");
        for n in 1..=5 {
            room.commit(text(&format!("c-{n}"), "hi"), None)
                .expect("commits");
        }
        assert_eq!(seqs(&room.items_after(0, 10)), vec![3, 4, 5], "{backend}");
        assert_eq!(room.pruned_through(), 2);
        assert_eq!(room.last_seq(), 5);
        assert_eq!(
            room.find(&"ab".repeat(32), "c-2"),
            None,
            "pruned items leave dedup"
        );
        assert!(room.find(&"ab".repeat(32), "c-3").is_some());
        assert_eq!(room.seq_before_latest(2), 3);
        assert_eq!(
            seqs(&room.items_after(room.seq_before_latest(2), 10)),
            vec![4, 5]
        );
        assert_eq!(room.seq_before_latest(3), 2);
        assert_eq!(room.seq_before_latest(50), 2);
        // A pruned id may be committed again: it is a new item now.
        assert_eq!(
            room.commit(text("c-1", "again"), None)
                .expect("commits")
                .seq,
            6
        );
        if backend == "disk" {
            assert_eq!(item_files(&room).len(), 3);
        }
    });
}

#[test]
fn prunes_by_bytes_keeping_the_newest_even_if_oversized() {
    let retention = Retention {
        max_items: 500,
        max_bytes: 1000,
    };
    each_backend(retention, |backend, store| {
        let room = store.room("lobby").expect("room opens");
        let a = commit_image(&room, "c-1", &image_bytes(400, 1), b"");
        let b = commit_image(&room, "c-2", &image_bytes(390, 2), b"0123456789");
        let c = commit_image(&room, "c-3", &image_bytes(300, 3), b"");
        // 400 + 400 + 300 > 1000: the oldest goes.
        assert_eq!(seqs(&room.items_after(0, 10)), vec![2, 3], "{backend}");
        assert!(matches!(
            room.read_image(&a, 0, 10),
            Err(StoreError::Pruned(1))
        ));
        assert_eq!(read_all(&room, &b), image_bytes(390, 2));

        let big = image_bytes(5000, 4);
        let d = commit_image(&room, "c-4", &big, b"");
        assert_eq!(seqs(&room.items_after(0, 10)), vec![4], "{backend}");
        assert_eq!(room.pruned_through(), 3);
        assert_eq!(read_all(&room, &d), big);
        assert!(matches!(
            room.read_image(&c, 0, 10),
            Err(StoreError::Pruned(3))
        ));
        assert_eq!(room.seq_before_latest(50), 3);
        if backend == "disk" {
            assert_eq!(item_files(&room), vec![format!("{:020}.item", 4)]);
        }
    });
}

#[test]
fn pruning_and_dedup_survive_a_restart() {
    let dir = TempDir::new();
    let retention = Retention {
        max_items: 2,
        max_bytes: 1 << 30,
    };
    {
        let room = disk_store(&dir, retention)
            .room("lobby")
            .expect("room opens");
        for n in 1..=4 {
            room.commit(text(&format!("c-{n}"), "hi"), None)
                .expect("commits");
        }
    }
    let store = disk_store(&dir, retention);
    let room = store.room("lobby").expect("room reopens");
    assert_eq!(room.pruned_through(), 2);
    assert_eq!(room.last_seq(), 4);
    assert_eq!(seqs(&room.items_after(0, 10)), vec![3, 4]);
    assert_eq!(room.find(&"ab".repeat(32), "c-1"), None);
    assert!(room.find(&"ab".repeat(32), "c-4").is_some());
    drop((room, store));

    // A lower retention at the next start prunes at load, and it sticks.
    let tight = Retention {
        max_items: 1,
        max_bytes: 1 << 30,
    };
    let room = disk_store(&dir, tight).room("lobby").expect("room reopens");
    assert_eq!(seqs(&room.items_after(0, 10)), vec![4]);
    assert_eq!(room.pruned_through(), 3);
    drop(room);
    let room = disk_store(&dir, retention)
        .room("lobby")
        .expect("room reopens");
    assert_eq!(seqs(&room.items_after(0, 10)), vec![4]);
    assert_eq!(room.find(&"ab".repeat(32), "c-3"), None);
}

#[test]
fn pruning_that_cannot_be_recorded_keeps_files_until_it_can() {
    let dir = TempDir::new();
    let retention = Retention {
        max_items: 2,
        max_bytes: 1 << 30,
    };
    let room = disk_store(&dir, retention)
        .room("lobby")
        .expect("room opens");
    let blocker = room.dir().expect("disk").join("room.json.tmp");
    // room.json cannot be rewritten while its temp name is taken by a directory.
    fs::create_dir(&blocker).expect("blocker made");
    for n in 1..=4 {
        room.commit(text(&format!("c-{n}"), "hi"), None)
            .expect("the item itself is durable");
    }
    assert_eq!(seqs(&room.items_after(0, 10)), vec![3, 4]);
    assert_eq!(room.pruned_through(), 2);
    assert_eq!(item_files(&room).len(), 4, "deleted before room.json knew");

    fs::remove_dir(&blocker).expect("blocker removed");
    room.commit(text("c-5", "hi"), None).expect("commits");
    assert_eq!(item_files(&room).len(), 2);
    drop(room);
    let room = disk_store(&dir, retention)
        .room("lobby")
        .expect("room reopens");
    assert_eq!(seqs(&room.items_after(0, 10)), vec![4, 5]);
    assert_eq!(room.pruned_through(), 3);
}

#[test]
fn a_pruned_file_that_vanished_reads_as_pruned() {
    let dir = TempDir::new();
    let room = disk_store(&dir, ROOMY).room("lobby").expect("room opens");
    let item = commit_image(&room, "c-1", &image_bytes(100, 1), b"");
    let path = room
        .dir()
        .expect("disk")
        .join("items")
        .join(format!("{:020}.item", item.seq));
    fs::remove_file(path).expect("removed");
    assert!(matches!(
        room.read_image(&item, 0, 10),
        Err(StoreError::Pruned(1))
    ));
}

#[test]
fn recovery_keeps_complete_items_only_and_never_reuses_a_seq() {
    let dir = TempDir::new();
    let (room_dir, before) = {
        let store = disk_store(&dir, ROOMY);
        let room = store.room("lobby").expect("room opens");
        room.commit(text("c-1", "one"), None).expect("commits");
        commit_image(&room, "c-2", &image_bytes(20_000, 2), b"pv");
        // An upload in progress when the relay was killed.
        let mut upload = room.begin_upload().expect("upload begins");
        upload
            .write(&Bytes::from(image_bytes(10_000, 5)))
            .expect("writes");
        std::mem::forget(upload);
        (
            room.dir().expect("disk").to_owned(),
            room.items_after(0, 10),
        )
    };
    let items = room_dir.join("items");
    let complete = fs::read(items.join(format!("{:020}.item", 2))).expect("readable");
    // Every way a file can be incomplete or foreign.
    fs::write(
        items.join(format!("{:020}.item", 3)),
        &complete[..complete.len() - 1],
    )
    .expect("written");
    fs::write(items.join(format!("{:020}.item", 4)), b"garbage").expect("written");
    let mut bad_json = b"xx{not json".to_vec();
    bad_json.extend_from_slice(&9u32.to_be_bytes());
    bad_json.extend_from_slice(record::MAGIC);
    fs::write(items.join(format!("{:020}.item", 5)), bad_json).expect("written");
    // Item 2's file under another seq: its meta says 2, so it is not item 6.
    fs::write(items.join(format!("{:020}.item", 6)), &complete).expect("written");
    fs::write(items.join(format!("{:020}.item", 7)), b"").expect("written");
    fs::write(items.join("stray.txt"), b"?").expect("written");
    fs::write(room_dir.join("room.json.tmp"), b"{\"room\":\"lo").expect("written");
    fs::write(room_dir.join("tmp").join("x.part"), b"half").expect("written");

    let store = disk_store(&dir, ROOMY);
    let room = store.room("lobby").expect("room reopens");
    assert_eq!(room.items_after(0, 10), before);
    assert_eq!(
        item_files(&room),
        vec![format!("{:020}.item", 1), format!("{:020}.item", 2)]
    );
    assert_eq!(tmp_entries(&room), 0);
    assert!(!room_dir.join("room.json.tmp").exists());
    assert!(room.last_seq() >= 7);
    let next = room
        .commit(text("c-3", "after the crash"), None)
        .expect("commits");
    assert!(next.seq > 7, "seq {} may have been seen before", next.seq);
    drop((room, store));
    let room = disk_store(&dir, ROOMY).room("lobby").expect("room reopens");
    assert_eq!(seqs(&room.items_after(0, 10)), vec![1, 2, next.seq]);
}

#[test]
fn every_truncation_of_a_fresh_item_is_dropped_cleanly() {
    let dir = TempDir::new();
    let room_dir = {
        let room = disk_store(&dir, ROOMY).room("lobby").expect("room opens");
        commit_image(&room, "c-1", &image_bytes(300, 1), b"preview");
        room.dir().expect("disk").to_owned()
    };
    let path = room_dir.join("items").join(format!("{:020}.item", 1));
    let complete = fs::read(&path).expect("readable");
    // Pretend seq 1 never completed and a crash left seq 2 cut at `cut` bytes.
    for cut in (0..complete.len()).step_by(17) {
        let cut_path = room_dir.join("items").join(format!("{:020}.item", 2));
        let mut half = complete.clone();
        half.truncate(cut);
        fs::write(&cut_path, &half).expect("written");
        let room = disk_store(&dir, ROOMY).room("lobby").expect("room reopens");
        assert_eq!(seqs(&room.items_after(0, 10)), vec![1], "cut at {cut}");
        assert!(!cut_path.exists());
    }
}

#[test]
fn room_names_never_escape_the_rooms_dir() {
    let dir = TempDir::new();
    let store = disk_store(&dir, ROOMY);
    for name in ["../x", "..", "/etc", "a/../../b", ".hidden"] {
        let room = store.room(name).expect("room opens");
        room.commit(text("c-1", "hi"), None).expect("commits");
        let room_dir = room.dir().expect("disk");
        assert_eq!(room_dir.parent(), Some(dir.path().join("rooms").as_path()));
        let leaf = room_dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 leaf");
        assert_eq!(leaf.len(), 32);
        assert!(leaf.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    }
    let mut top: Vec<_> = fs::read_dir(dir.path())
        .expect("lists")
        .map(|e| e.expect("entry").file_name())
        .collect();
    top.sort();
    assert_eq!(
        top,
        vec![
            std::ffi::OsString::from("lock"),
            std::ffi::OsString::from("rooms")
        ]
    );
}

#[test]
fn a_data_dir_has_one_store_at_a_time() {
    let dir = TempDir::new();
    let first = disk_store(&dir, ROOMY);
    match Store::open(&Storage::Disk(dir.path().to_path_buf()), ROOMY) {
        Err(StoreError::InUse(path)) => assert_eq!(path, dir.path()),
        Err(e) => panic!("expected InUse, got {e}"),
        Ok(_) => panic!("a second store opened the same directory"),
    }
    drop(first);
    assert!(Store::open(&Storage::Disk(dir.path().to_path_buf()), ROOMY).is_ok());
}

#[test]
fn an_unusable_data_dir_is_an_error() {
    let dir = TempDir::new();
    let file = dir.path().join("a-file");
    fs::write(&file, b"x").expect("written");
    for path in [file.clone(), file.join("below")] {
        match Store::open(&Storage::Disk(path.clone()), ROOMY) {
            Err(e @ StoreError::Io { .. }) => {
                assert!(e.to_string().contains("a-file"), "{e}");
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("{} accepted as a data dir", path.display()),
        }
    }
}

#[test]
fn concurrent_commits_get_distinct_increasing_seqs() {
    each_backend(ROOMY, |backend, store| {
        let room = store.room("lobby").expect("room opens");
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let room = Arc::clone(&room);
                std::thread::spawn(move || {
                    let mut mine = Vec::new();
                    for n in 0..10 {
                        let id = format!("t{t}-{n}");
                        let item = if n % 3 == 0 {
                            commit_image(&room, &id, &image_bytes(3000, t + n), b"")
                        } else {
                            room.commit(text(&id, &id), None).expect("commits")
                        };
                        // Readers keep working while others commit.
                        assert!(room.count_after(0) >= mine.len());
                        mine.push(item);
                    }
                    mine
                })
            })
            .collect();
        let mut all = Vec::new();
        for thread in threads {
            let mine = thread.join().expect("no thread panicked");
            assert!(mine.windows(2).all(|w| w[0].seq < w[1].seq), "{backend}");
            all.extend(mine);
        }
        all.sort_by_key(|item| item.seq);
        assert_eq!(seqs(&all), (1..=40).collect::<Vec<_>>(), "{backend}");
        assert!(all.windows(2).all(|w| w[0].ts <= w[1].ts), "ts follows seq");
        assert_eq!(room.items_after(0, 100), all);
        for item in &all {
            if let Content::Image(image) = &item.content {
                let bytes = read_all(&room, item);
                assert_eq!(hex::encode(Sha256::digest(&bytes)), image.sha256);
            }
        }
    });
}

/// Set for the child process of [`a_sigkilled_writer_loses_no_acked_item`].
const CRASH_DIR_VAR: &str = "SNAPWIRE_STORE_TEST_CRASH_DIR";

/// Not a test on its own: in a child process, commits until killed, printing
/// `ACK <seq> <item id>` once each commit has returned (when the relay would ack).
#[test]
fn sigkill_child_writer() {
    use std::io::Write;
    let Some(dir) = std::env::var_os(CRASH_DIR_VAR) else {
        return;
    };
    let retention = Retention {
        max_items: 8,
        max_bytes: 1 << 30,
    };
    let store = Store::open(&Storage::Disk(dir.into()), retention).expect("child opens");
    let room = store.room("lobby").expect("child room opens");
    let mut stdout = std::io::stdout().lock();
    for n in 0u32.. {
        let id = format!("{}-{n}", std::process::id());
        let item = if n % 2 == 0 {
            commit_image(&room, &id, &image_bytes(200_000, n as u8), b"pv")
        } else {
            room.commit(text(&id, &id), None).expect("child commits")
        };
        writeln!(stdout, "ACK {} {id}", item.seq).expect("parent reads");
        stdout.flush().expect("parent reads");
    }
}

#[test]
fn a_sigkilled_writer_loses_no_acked_item() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let dir = TempDir::new();
    let exe = std::env::current_exe().expect("test binary path");
    let mut highest = 0;
    for round in 0..3u32 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "store::tests::sigkill_child_writer",
                "--nocapture",
            ])
            .args(["--test-threads", "1"])
            .env(CRASH_DIR_VAR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("child starts");
        let stdout = child.stdout.take().expect("piped");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let started = Instant::now();
        let mut acked = Vec::new();
        // Kill at a different point of a commit each round.
        let kill_after = 6 + 5 * round as usize;
        while acked.len() < kill_after && started.elapsed() < Duration::from_secs(5) {
            let Some(Ok(line)) = lines.next() else { break };
            if let Some(ack) = line.strip_prefix("ACK ") {
                let (seq, id) = ack.split_once(' ').expect("ACK seq id");
                acked.push((seq.parse::<u64>().expect("seq"), id.to_owned()));
            }
        }
        child.kill().expect("child killed");
        // Acks printed before the kill are still in the pipe.
        for line in lines.map_while(Result::ok) {
            if let Some(ack) = line.strip_prefix("ACK ") {
                let (seq, id) = ack.split_once(' ').expect("ACK seq id");
                acked.push((seq.parse::<u64>().expect("seq"), id.to_owned()));
            }
        }
        child.wait().expect("child reaped");
        assert!(
            acked.len() >= kill_after,
            "round {round}: child acked only {acked:?}"
        );

        let retention = Retention {
            max_items: 8,
            max_bytes: 1 << 30,
        };
        let store = disk_store(&dir, retention);
        let room = store.room("lobby").expect("room reopens");
        assert_eq!(tmp_entries(&room), 0);
        let first = acked.first().expect("some acks").0;
        assert!(first > highest, "round {round}: seq {first} reused");
        for (seq, id) in &acked {
            if *seq <= room.pruned_through() {
                continue;
            }
            let item = room
                .get(*seq)
                .unwrap_or_else(|| panic!("acked seq {seq} lost"));
            assert_eq!(&item.item_id, id);
            if let Content::Image(image) = &item.content {
                let bytes = read_all(&room, &item);
                assert_eq!(hex::encode(Sha256::digest(&bytes)), image.sha256);
            }
        }
        // The newest acked item is always retained, whatever pruning did.
        let (last, _) = acked.last().expect("some acks");
        assert!(room.get(*last).is_some());
        assert!(room.last_seq() >= *last);
        highest = room.last_seq();
    }
}

/// Prints the commit latency of a 1 MiB image (fsyncs included); run with
/// `cargo test -p snapwire-relay --lib store::tests::timing -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn timing_of_a_1_mib_image_commit() {
    let dir = TempDir::new();
    let room = disk_store(&dir, ROOMY).room("lobby").expect("room opens");
    let body = image_bytes(1 << 20, 7);
    let mut times = Vec::new();
    for n in 0..20 {
        let mut upload = room.begin_upload().expect("upload begins");
        for chunk in body.chunks(64 * 1024) {
            upload
                .write(&Bytes::copy_from_slice(chunk))
                .expect("writes");
        }
        let new = NewItem {
            from: ana(),
            client_key: "cd".repeat(32),
            item_id: format!("c-{n}"),
            content: Content::Image(ImageMeta {
                name: "big.png".to_owned(),
                mime: "image/png".to_owned(),
                size: body.len() as u64,
                sha256: upload.sha256_hex(),
                width: None,
                height: None,
                preview: Bytes::new(),
            }),
        };
        let start = Instant::now();
        room.commit(new, Some(upload)).expect("commits");
        times.push(start.elapsed());
    }
    let text_start = Instant::now();
    for n in 0..20 {
        room.commit(text(&format!("t-{n}"), "hello"), None)
            .expect("commits");
    }
    times.sort();
    println!(
        "1 MiB image commit: median {:?}, max {:?}; text commit: mean {:?}",
        times[times.len() / 2],
        times[times.len() - 1],
        text_start.elapsed() / 20
    );
}

/// What unloaded rooms held is gone from RAM: the store's count of the loaded rooms'
/// bytes goes back to 0, and every item (text, preview) is really freed, not kept by
/// some other owner. Reloading counts the same bytes again.
#[test]
fn unloaded_rooms_give_back_their_ram() {
    let dir = TempDir::new();
    let store = disk_store(&dir, ROOMY);
    assert_eq!(store.ram_bytes(), 0);
    let mut items = Vec::new();
    let mut held = Vec::new();
    for r in 0..3 {
        let room = store.room(&format!("room-{r}")).expect("room opens");
        for i in 0..10 {
            let body = format!("{i:04} {}", "x".repeat(4000));
            let item = room
                .commit(text(&format!("t{i}"), &body), None)
                .expect("text commits");
            items.push(Arc::downgrade(&item));
        }
        let image = commit_image(&room, "img", &image_bytes(9000, r), &[7; 3000]);
        items.push(Arc::downgrade(&image));
        held.push(room);
    }
    let loaded = store.ram_bytes();
    // At least the texts and previews themselves.
    assert!(loaded >= 3 * (10 * 4005 + 3000), "{loaded}");

    // One room let go: only its share goes.
    let first = held.remove(0);
    drop(first);
    store.unload_if_unused("room-0");
    let two_left = store.ram_bytes();
    assert_eq!(two_left * 3, loaded * 2, "{two_left} of {loaded}");
    // A room still in use stays whole.
    store.unload_if_unused("room-1");
    assert_eq!(store.ram_bytes(), two_left);

    drop(held);
    for r in 1..3 {
        store.unload_if_unused(&format!("room-{r}"));
    }
    assert_eq!(store.ram_bytes(), 0);
    assert!(
        items.iter().all(|item| item.upgrade().is_none()),
        "every item of an unloaded room is freed"
    );

    let again = store.room("room-2").expect("room loads again");
    assert_eq!(again.items_after(0, 100).len(), 11);
    // The rooms hold the same items, so one room is a third of the three.
    assert_eq!(store.ram_bytes() * 3, loaded);
}

#[test]
fn a_batch_is_durable_with_one_directory_sync_and_survives_a_reopen() {
    let dir = TempDir::new();
    let store = disk_store(&dir, ROOMY);
    let room = store.room("lobby").expect("room");
    let mut batch: Vec<(NewItem, Option<Upload>)> = (0..6)
        .map(|i| (text(&format!("b-{i}"), "hello"), None))
        .collect();
    let bytes = image_bytes(300_000, 5);
    let mut upload = room.begin_upload().expect("upload begins");
    upload.write(&Bytes::from(bytes.clone())).expect("write");
    let image = NewItem {
        from: ana(),
        client_key: "ab".repeat(32),
        item_id: "b-image".to_owned(),
        content: Content::Image(ImageMeta {
            name: "cat.png".to_owned(),
            mime: "image/png".to_owned(),
            size: bytes.len() as u64,
            sha256: upload.sha256_hex(),
            width: None,
            height: None,
            preview: Bytes::new(),
        }),
    };
    batch.push((image, Some(upload)));
    // The same item twice in one batch (two connections of one client): one seq.
    batch.push((text("b-2", "hello"), None));
    let results = room.commit_batch(batch);
    let seqs: Vec<u64> = results
        .iter()
        .map(|r| r.as_ref().expect("committed").item().seq)
        .collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6, 7, 3]);
    assert!(matches!(results[7], Ok(Committed::Existing(_))));
    assert_eq!(room.file_syncs(), 7, "each new item's file");
    assert_eq!(room.dir_syncs(), 1, "one directory sync for the batch");
    drop(room);
    drop(store);

    let store = disk_store(&dir, ROOMY);
    let room = store.room("lobby").expect("room reloads");
    let items = room.items_after(0, 100);
    assert_eq!(items.len(), 7);
    let image = items.last().expect("the image");
    let mut back = vec![0u8; bytes.len()];
    room.read_image_into(image, 0, &mut back)
        .expect("read back");
    assert_eq!(back, bytes);
    assert!(room.verify_image(image).expect("verify"));
}

#[test]
fn one_at_a_time_each_commit_pays_its_own_directory_sync() {
    let dir = TempDir::new();
    let store = disk_store(&dir, ROOMY);
    let room = store.room("lobby").expect("room");
    for i in 0..3 {
        room.commit(text(&format!("s-{i}"), "hi"), None)
            .expect("commit");
    }
    assert_eq!(room.dir_syncs(), 3);
}
