//! The app's fuzz corpus (`server/fuzz/corpus/app_relayed/`) and every input the
//! fuzzer found failing (`server/fuzz/regressions/app_relayed/`), run on stable
//! through the same checks the fuzz target makes (`server/fuzz/app_harness.rs`):
//! the app's network worker and model fed relay messages, commands and
//! reconnects in-process. The fuzzer itself runs on nightly: see
//! docs/RELIABILITY.md.

#[path = "../server/fuzz/app_harness.rs"]
mod app_harness;

use std::path::{Path, PathBuf};

/// Every file of the corpus and of the regressions.
fn inputs() -> Vec<(PathBuf, Vec<u8>)> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("server/fuzz");
    let mut inputs = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join("app_relayed")) else {
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

#[test]
fn the_app_corpus_and_regressions_pass_the_fuzz_checks() {
    let inputs = inputs();
    assert!(
        inputs.len() >= 10,
        "server/fuzz/corpus/app_relayed/ holds only {} inputs",
        inputs.len()
    );
    for (path, bytes) in &inputs {
        let run = std::panic::catch_unwind(|| app_harness::relayed(bytes));
        assert!(
            run.is_ok(),
            "{} fails the app's fuzz checks",
            path.display()
        );
    }
}

/// The hand-made seeds, each a short script in the harness's input language
/// (an op byte, then its operands: see `app_harness::relayed`). Rewrite them
/// with `cargo test -p snapwire --test fuzz_app_corpus -- --ignored write_app_seeds`.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    // The first welcome: limits (1 MiB images, 64-byte chunks), history 0.
    let welcome = [2 | (3 << 2), 0];
    let text_from_ben = [0, 3, 1, 1, 1, 3, b'h', b'i', b'!'];
    // sid 1, size 2 * 5 = 10, the right SHA-256, from Ben, live, no preview.
    let begin = [1, 1, 2, 4, 1, 1, 1, 0];
    let chunk = [2, 1, 10, 1];
    let end = [3, 1, 5];
    let own_text = [10, 2, b'h', b'i'];
    let own_image = [11, 149, 7];
    let write = [13, 7];
    let seeds: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("seed-text-from-ben", vec![text_from_ben.to_vec()]),
        (
            "seed-image-whole",
            vec![begin.to_vec(), chunk.to_vec(), end.to_vec()],
        ),
        (
            "seed-image-in-two-chunks",
            vec![
                begin.to_vec(),
                vec![2, 1, 4, 1],
                vec![2, 1, 6, 1],
                end.to_vec(),
            ],
        ),
        (
            "seed-image-bad-hash",
            vec![
                vec![1, 2, 2, 4, 0, 1, 1, 0],
                vec![2, 2, 10, 1],
                vec![3, 2, 6],
            ],
        ),
        (
            "seed-image-chunk-out-of-order",
            vec![begin.to_vec(), vec![2, 1, 4, 0, 3], end.to_vec()],
        ),
        (
            "seed-image-cancelled-then-sent-again",
            vec![
                begin.to_vec(),
                vec![2, 1, 4, 1],
                vec![4, 1, 0],
                vec![1, 3, 2, 4, 1, 1, 1, 0],
                vec![2, 3, 10, 1],
                vec![3, 3, 7],
            ],
        ),
        (
            "seed-image-lagging",
            vec![begin.to_vec(), vec![2, 1, 4, 1], vec![4, 1, 6]],
        ),
        (
            "seed-image-huge",
            vec![vec![
                1, 4, 0, 255, 255, 255, 255, 255, 255, 255, 255, 1, 1, 1, 0,
            ]],
        ),
        (
            "seed-own-text-acked-and-echoed",
            vec![
                own_text.to_vec(),
                write.to_vec(),
                vec![5, 0, 3],
                vec![0, 3, 1, 0, 1, 2, b'h', b'i'],
            ],
        ),
        (
            "seed-own-image-uploaded-and-acked",
            vec![
                own_image.to_vec(),
                write.to_vec(),
                write.to_vec(),
                vec![5, 0, 4],
                vec![6, 4, 1],
            ],
        ),
        (
            "seed-own-image-cancelled-mid-upload",
            vec![own_image.to_vec(), vec![13, 1], vec![12, 0], write.to_vec()],
        ),
        (
            "seed-own-items-requeued-after-a-cut",
            vec![
                own_text.to_vec(),
                own_image.to_vec(),
                vec![13, 2],
                vec![14],
                own_text.to_vec(),
                vec![15, 1, 2 | (3 << 2), 0],
                write.to_vec(),
                write.to_vec(),
            ],
        ),
        (
            "seed-new-epoch",
            vec![
                text_from_ben.to_vec(),
                vec![15, 0, 2 | (3 << 2), 4],
                text_from_ben.to_vec(),
            ],
        ),
        (
            "seed-errors-and-presence",
            vec![
                own_text.to_vec(),
                vec![7, 0, 0, 0],
                vec![7, 10, 1],
                vec![8, 1, 0],
                vec![8, 1, 1],
                vec![8, 2, 0],
            ],
        ),
        (
            "seed-garbage-frames",
            vec![
                vec![
                    9, 12, 0, 0, 0, 4, b'{', b'"', b't', b'y', b'p', b'e', b'"', b'}',
                ],
                vec![9, 3, 0, 0, 9],
            ],
        ),
    ];
    seeds
        .into_iter()
        .map(|(name, steps)| {
            let mut bytes = welcome.to_vec();
            for step in steps {
                bytes.extend(step);
            }
            (name, bytes)
        })
        .collect()
}

#[test]
#[ignore = "writes the seed files into the source tree"]
fn write_app_seeds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("server/fuzz/corpus/app_relayed");
    std::fs::create_dir_all(&dir).expect("corpus dir");
    for (name, bytes) in seeds() {
        std::fs::write(dir.join(name), bytes).expect("write a seed");
    }
}

/// The seeds reach what they are named after (so the fuzzer starts deep in the
/// worker, not at "unreadable message").
#[test]
fn the_seeds_reach_the_worker() {
    for (name, bytes) in seeds() {
        app_harness::relayed(&bytes);
        let reached = app_harness::reached(&bytes);
        let want = match name {
            "seed-text-from-ben" | "seed-new-epoch" => "text",
            "seed-image-whole"
            | "seed-image-in-two-chunks"
            | "seed-image-cancelled-then-sent-again" => "verified image",
            "seed-image-bad-hash" => "unverified image",
            "seed-image-chunk-out-of-order" | "seed-image-lagging" => "image cancel",
            "seed-image-huge" => "refused",
            "seed-own-text-acked-and-echoed" | "seed-own-image-uploaded-and-acked" => "ack",
            "seed-own-image-cancelled-mid-upload" => "upload cancelled",
            "seed-own-items-requeued-after-a-cut" => "sent again",
            "seed-errors-and-presence" => "relay error",
            "seed-garbage-frames" => "unreadable",
            _ => panic!("a seed without an expectation: {name}"),
        };
        assert!(
            reached.contains(&want),
            "{name} reached {reached:?}, not {want}"
        );
    }
}

/// Found by fuzzing (`regressions/app_relayed/stream-begun-twice`): a relay that
/// begins a stream id twice on one connection left the first image streaming
/// forever beside the second, half. Now the first is cancelled, said so.
#[test]
fn a_stream_begun_twice_ends_the_first_instead_of_leaving_it_half() {
    use snapwire::net::fuzzing::Driver;
    use snapwire::state::{Event, ImageState, Model};
    use snapwire_relay::protocol::{
        Limits, RelayHeader, RelayImageBegin, RelayMessage, User, Welcome,
    };

    let secret = "b2".repeat(16);
    let mut driver = Driver::new(&secret).expect("a runtime");
    let me = User {
        id: snapwire_relay::protocol::validate::user_id(&secret),
        name: "Ana".into(),
    };
    assert!(driver.welcome(Welcome {
        v: 1,
        user: me.clone(),
        room: "lobby".into(),
        epoch: "e1".into(),
        peers: Vec::new(),
        history: 0,
        limits: Limits {
            max_image_bytes: 1 << 20,
            max_chunk_bytes: 1 << 16,
            max_text_bytes: 1 << 14,
            max_uploads: 4,
        },
    }));
    let begin = |name: &str| {
        RelayMessage::new(
            RelayHeader::ImageBegin(RelayImageBegin {
                sid: 7,
                ts: 1,
                from: User {
                    id: "bbbbbbbbbbbb".into(),
                    name: "Ben".into(),
                },
                name: name.into(),
                mime: "image/png".into(),
                size: 10,
                sha256: "0".repeat(64),
                width: None,
                height: None,
                history: false,
            }),
            bytes::Bytes::new(),
        )
        .encode()
    };
    driver.relay(begin("first.png"));
    driver.relay(begin("second.png"));
    let mut model = Model::new(me.id);
    for event in driver.emitted.clone() {
        model.apply(event);
    }
    assert!(
        driver
            .emitted
            .iter()
            .any(|e| matches!(e, Event::ImageCancel { sid: 7, .. })),
        "the first stream is cancelled"
    );
    let states: Vec<(String, bool)> = model
        .entries
        .iter()
        .filter_map(|e| {
            let image = e.image()?;
            Some((
                image.name().to_owned(),
                matches!(image.state, ImageState::Streaming { .. }),
            ))
        })
        .collect();
    assert_eq!(
        states,
        [
            ("first.png".to_owned(), false),
            ("second.png".to_owned(), true)
        ],
        "only the second still streams"
    );
}
