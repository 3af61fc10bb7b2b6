//! "While you were away": images from others that arrived while the window was
//! unfocused are counted, and the count goes in the window title
//! ("(3) Snapwire — room") until the window is focused again.
//!
//! No desktop notification: notify-rust talks D-Bus through zbus, a large
//! async stack of its own; the title count is what every window manager shows.

/// The count of unseen images and the title that says it. It starts focused:
/// a window that opens is looked at until the window manager says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attention {
    focused: bool,
    unseen: u32,
    /// The first image that arrived unseen (to bring into view on focus).
    pub first_unseen: Option<crate::state::EntryKey>,
}

impl Default for Attention {
    fn default() -> Self {
        Self::new()
    }
}

impl Attention {
    pub fn new() -> Self {
        Self {
            focused: true,
            unseen: 0,
            first_unseen: None,
        }
    }

    /// The window's focus this frame; returns true when it just came back with something unseen.
    pub fn set_focused(&mut self, focused: bool) -> bool {
        let back = focused && !self.focused && self.unseen > 0;
        self.focused = focused;
        if focused {
            self.unseen = 0;
        }
        back
    }

    /// A complete image from someone else arrived (not history, not ours).
    pub fn image_arrived(&mut self, key: crate::state::EntryKey) {
        if !self.focused {
            if self.unseen == 0 {
                self.first_unseen = Some(key);
            }
            self.unseen += 1;
        }
    }

    pub fn unseen(&self) -> u32 {
        self.unseen
    }

    /// The window title for `base` ("Snapwire — room").
    pub fn title(&self, base: &str) -> String {
        if self.unseen == 0 {
            base.to_owned()
        } else {
            format!("({}) {base}", self.unseen)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_while_unfocused_and_resets_on_focus() {
        let mut a = Attention::new();
        a.image_arrived(1);
        assert_eq!(a.title("Snapwire — r"), "Snapwire — r");
        assert!(!a.set_focused(false));
        a.image_arrived(2);
        a.image_arrived(3);
        a.image_arrived(4);
        assert_eq!(a.title("Snapwire — r"), "(3) Snapwire — r");
        assert_eq!(a.first_unseen, Some(2));
        assert!(a.set_focused(true), "came back to something new");
        assert_eq!(a.title("Snapwire — r"), "Snapwire — r");
        assert!(!a.set_focused(true));
    }

    #[test]
    fn default_and_new_agree() {
        assert_eq!(Attention::default(), Attention::new());
    }
}
