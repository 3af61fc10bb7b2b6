//! The window under a relay's flood of joins and leaves (what one hostile host
//! can make a relay send: thousands a second). Each frame takes a bounded share
//! of the queued events, so it keeps drawing and handling input while the flood
//! is still queued; the whole flood ends as one presence line, not thousands of
//! timeline entries.

mod support;

use egui_kittest::kittest::Queryable;
use snapwire::net::Command;
use snapwire::state::Event;
use snapwire_relay::protocol::User;
use support::ui::{Slot, emit, has_text, next_command, room_setup, step_until};

/// Join/leave events the fake relay sends (5,000 guests, each joins and leaves).
const FLOOD: u32 = 10_000;
/// The guests whose names the line shows before "and N more".
const SHOWN: u32 = 3;

/// Events queued for the app, and room for more, on the fake connection.
fn queue(net: &Slot) -> (usize, usize) {
    let guard = net.lock().expect("lock");
    let events = &guard.as_ref().expect("connected").events;
    (events.max_capacity() - events.capacity(), events.capacity())
}

fn guest(n: u32) -> Event {
    let user = User {
        id: format!("{:012x}", n / 2),
        name: format!("guest{}", n / 2),
    };
    if n.is_multiple_of(2) {
        Event::Joined(user)
    } else {
        Event::Left(user)
    }
}

#[test]
fn a_presence_flood_is_taken_in_bounded_frames_input_still_works_and_it_is_one_line() {
    let mut s = room_setup();
    step_until(&mut s.harness, "the room", |h| has_text(h, "2 online"));
    let entries_before = s.harness.state().room.model.entries.len();

    let mut sent = 0u32;
    let mut frames_with_a_backlog = 0u32;
    let mut typed = false;
    let mut text_sent_during_the_flood = false;
    let deadline = std::time::Instant::now() + support::ui::UI_WAIT;
    loop {
        // The relay keeps the queue full for as long as the flood lasts.
        let (_, room) = queue(&s.net);
        for _ in 0..room {
            if sent == FLOOD {
                break;
            }
            emit(&s.net, guest(sent));
            sent += 1;
        }
        let (queued, _) = queue(&s.net);
        if sent == FLOOD && queued == 0 {
            break;
        }
        // Halfway through, the user types and presses Enter.
        if !typed && sent >= FLOOD / 2 {
            s.harness.state_mut().composer.text = "still here".into();
            let id = egui::Id::unique(snapwire::ui::composer::TEXT_BOX_ID);
            s.harness.ctx.memory_mut(|m| m.request_focus(id));
            s.harness.key_press(egui::Key::Enter);
            typed = true;
        }
        s.harness.step();
        let (left, _) = queue(&s.net);
        if queued > 0 && left > 0 {
            frames_with_a_backlog += 1;
        }
        while let Some(command) = next_command(&s.net) {
            if let Command::SendText { text, .. } = command {
                assert_eq!(text, "still here");
                // Sent while the flood still waits in the queue: input is not
                // stuck behind it.
                text_sent_during_the_flood = left > 0 || sent < FLOOD;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the flood was never drained: {sent} sent, {left} left"
        );
    }
    assert!(
        frames_with_a_backlog > 1,
        "frames take a share of a full queue, not all of it at once"
    );
    assert!(
        text_sent_during_the_flood,
        "the text typed mid-flood went out before the flood ended"
    );

    // The joins and leaves before the text are one line, those after it one more.
    step_until(&mut s.harness, "the presence line", |h| {
        h.query_all_by_label_contains("more left").count() == 2
    });
    let model = &s.harness.state().room.model;
    assert!(
        model.entries.len() <= entries_before + 3,
        "{} entries after {FLOOD} joins and leaves (before: {entries_before}): \
         the text and a presence line on each side of it",
        model.entries.len()
    );
    let first = (0..SHOWN).map(|n| format!("guest{n}")).collect::<Vec<_>>();
    assert!(
        has_text(&s.harness, &format!("{} and ", first.join(", "))),
        "the first line names the first guests, then a count"
    );
    assert!(has_text(&s.harness, "still here"));
    assert!(has_text(&s.harness, "2 online"), "Ana and Ben still online");
}
