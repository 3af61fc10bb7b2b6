//! Relays on the LAN in the connect view, driven by recorded browse events
//! (the mDNS browser itself is tested across network namespaces in the relay
//! crate): found and lost update the list live, one click joins, a relay that
//! needs a token asks for it first, and typing an address still works.

mod support;

use std::sync::mpsc;

use egui_kittest::kittest::Queryable;
use snapwire::cli::Launch;
use snapwire::discovery::{self, BrowseEvent, FoundList, FoundRelay};
use support::ui::{has_text, setup, step_until};

fn relay(instance: &str, ip: &str, port: u16, needs_token: bool) -> FoundRelay {
    FoundRelay {
        fullname: format!("{}._snapwire._tcp.local.", instance.replace(' ', "\\ ")),
        instance: instance.to_owned(),
        addrs: vec![ip.parse().expect("ip")],
        port,
        needs_token,
        tls: false,
    }
}

#[test]
fn a_recorded_browse_session_keeps_the_list_current() {
    let a = relay("Kitchen", "192.0.2.7", 7600, false);
    let b = relay("attic", "192.0.2.8", 7601, true);
    let moved = relay("Kitchen", "192.0.2.9", 7600, false);
    let mut list = FoundList::default();
    for event in [
        BrowseEvent::Found(a.clone()),
        BrowseEvent::Found(b.clone()),
        BrowseEvent::Found(moved.clone()),
        BrowseEvent::Lost("nobody._snapwire._tcp.local.".into()),
    ] {
        list.apply(event);
    }
    assert_eq!(
        list.relays,
        [b.clone(), moved.clone()],
        "sorted, updated in place"
    );
    assert_eq!(
        discovery::typed_address(&moved).as_deref(),
        Some("192.0.2.9:7600")
    );
    list.apply(BrowseEvent::Lost(b.fullname.clone()));
    assert_eq!(list.relays, [moved]);
}

#[test]
fn found_relays_appear_and_go_live_and_one_click_joins() {
    let (tx, rx) = mpsc::channel();
    let mut s = setup(Launch::ConnectView, |app| {
        app.form.fields.name = "Ana".into();
        app.start_discovery(discovery::from_channel(rx));
    });
    step_until(&mut s.harness, "the looking line", |h| {
        has_text(h, "Looking for relays")
    });
    tx.send(BrowseEvent::Found(relay(
        "Ana's relay",
        "192.0.2.7",
        7600,
        false,
    )))
    .expect("send");
    tx.send(BrowseEvent::Found(relay(
        "Office (room garden)",
        "192.0.2.8",
        7601,
        false,
    )))
    .expect("send");
    step_until(&mut s.harness, "both relays", |h| {
        has_text(h, "Ana's relay") && has_text(h, "Office (room garden)   192.0.2.8:7601")
    });
    tx.send(BrowseEvent::Lost(
        "Ana's\\ relay._snapwire._tcp.local.".into(),
    ))
    .expect("send");
    step_until(&mut s.harness, "the lost relay gone", |h| {
        !has_text(h, "Ana's relay") && has_text(h, "Office")
    });

    s.harness.get_by_label_contains("Office").click();
    step_until(&mut s.harness, "the room", |h| {
        matches!(h.state().view, snapwire::app::View::Room)
    });
    let targets = s.targets.lock().expect("lock").clone();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].url, "ws://192.0.2.8:7601/ws");
    assert_eq!(targets[0].name, "Ana");
    assert_eq!(
        targets[0].room, "garden",
        "a hosted room's announcement names its room"
    );
}

#[test]
fn a_relay_that_needs_a_token_asks_for_it_before_joining() {
    let (tx, rx) = mpsc::channel();
    let mut s = setup(Launch::ConnectView, |app| {
        app.form.fields.name = "Ana".into();
        app.start_discovery(discovery::from_channel(rx));
    });
    tx.send(BrowseEvent::Found(relay("Locked", "192.0.2.5", 7600, true)))
        .expect("send");
    step_until(&mut s.harness, "the relay", |h| {
        has_text(h, "needs a token")
    });
    s.harness.get_by_label_contains("Locked").click();
    step_until(&mut s.harness, "the token question", |h| {
        has_text(h, "“Locked” needs an access token")
    });
    assert!(s.targets.lock().expect("lock").is_empty(), "not joined yet");
    assert_eq!(s.harness.state().form.fields.server, "192.0.2.5:7600");

    s.harness.state_mut().form.fields.token = "s3cret".into();
    s.harness.get_by_label("Join").click();
    step_until(&mut s.harness, "the room", |h| {
        matches!(h.state().view, snapwire::app::View::Room)
    });
    let targets = s.targets.lock().expect("lock").clone();
    assert_eq!(targets[0].url, "ws://192.0.2.5:7600/ws");
    assert_eq!(targets[0].token.as_deref(), Some("s3cret"));
}

#[test]
fn typing_an_address_still_works_with_discovery_on() {
    let (_tx, rx) = mpsc::channel();
    let mut s = setup(Launch::ConnectView, |app| {
        app.form.fields.name = "Ana".into();
        app.start_discovery(discovery::from_channel(rx));
    });
    s.harness.state_mut().form.fields.server = "10.1.2.3:7700".into();
    s.harness.get_by_label("Connect").click();
    step_until(&mut s.harness, "the room", |h| {
        matches!(h.state().view, snapwire::app::View::Room)
    });
    assert_eq!(
        s.targets.lock().expect("lock")[0].url,
        "ws://10.1.2.3:7700/ws"
    );
}
