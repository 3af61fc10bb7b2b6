//! Joins and leaves as one line of the timeline: consecutive changes update
//! the line they started instead of adding an entry each, so a flood of
//! joins and leaves costs one entry and a bounded text.

use crate::t;

/// Names shown per kind before "and N more".
const SHOWN: usize = 3;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Names {
    shown: Vec<String>,
    more: u64,
}

impl Names {
    fn add(&mut self, name: &str) {
        if self.shown.iter().any(|n| n == name) {
            return;
        }
        if self.shown.len() < SHOWN {
            self.shown.push(name.to_owned());
        } else {
            self.more = self.more.saturating_add(1);
        }
    }

    /// How many joined (or left) in all, for the verb's plural.
    fn count(&self) -> u64 {
        (self.shown.len() as u64).saturating_add(self.more)
    }
}

impl PresenceLine {
    fn joined_words(&self) -> Option<String> {
        let who = &self.joined;
        let names = who.shown.join(", ");
        Some(match who.more {
            _ if who.shown.is_empty() => return None,
            0 => t!("presence-joined", names = names, count = who.count()),
            more => t!(
                "presence-joined-more",
                names = names,
                more = more,
                count = who.count()
            ),
        })
    }

    fn left_words(&self) -> Option<String> {
        let who = &self.left;
        let names = who.shown.join(", ");
        Some(match who.more {
            _ if who.shown.is_empty() => return None,
            0 => t!("presence-left", names = names, count = who.count()),
            more => t!(
                "presence-left-more",
                names = names,
                more = more,
                count = who.count()
            ),
        })
    }
}

/// The presence line being written: its entry, and who joined and left since it began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PresenceLine {
    pub(super) key: super::EntryKey,
    joined: Names,
    left: Names,
}

impl PresenceLine {
    pub(super) fn new(key: super::EntryKey) -> Self {
        Self {
            key,
            joined: Names::default(),
            left: Names::default(),
        }
    }

    pub(super) fn joined(&mut self, name: &str) {
        self.joined.add(name);
    }

    pub(super) fn left(&mut self, name: &str) {
        self.left.add(name);
    }

    /// "Ben, Cy joined · Dan left", "Ben, Cy, Dan and 40 more joined".
    pub(super) fn text(&self) -> String {
        [self.joined_words(), self.left_words()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_stays_one_bounded_line() {
        let mut line = PresenceLine::new(1);
        for n in 0..40_000 {
            line.joined(&format!("guest{n}"));
            line.left(&format!("guest{n}"));
        }
        let text = line.text();
        assert_eq!(
            text,
            "guest0, guest1, guest2 and 39997 more joined · guest0, guest1, guest2 and 39997 more left"
        );
    }
}
