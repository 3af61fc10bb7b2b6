//! The name to suggest on first run: who is logged in to this computer, so
//! "Host a room" works with one click. Only a suggestion: the form keeps it
//! editable, and a name used once is remembered instead.

use snapwire_relay::protocol::validate;

/// The person's name as the system knows it: the full name from the account
/// database when there is one (Unix), else the login name (`USER`,
/// `LOGNAME`, `USERNAME` on Windows). `None` when nothing usable is found.
pub fn system_user_name() -> Option<String> {
    let login = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|v| !v.trim().is_empty());
    let account = account_entry();
    let real = account.as_ref().map(|(_, real)| real.as_str());
    let login = login.or_else(|| account.as_ref().map(|(login, _)| login.clone()));
    pick_name(real, login.as_deref())
}

/// The full name if it is a valid display name, else the login name; cut
/// to the relay's limit on a character boundary.
pub fn pick_name(real: Option<&str>, login: Option<&str>) -> Option<String> {
    [real, login].into_iter().flatten().find_map(|raw| {
        let cut: String = raw.trim().chars().take(validate::MAX_NAME_CHARS).collect();
        validate::display_name(&cut).ok()
    })
}

/// `(login, full name)` of the account running us, read from `/etc/passwd`
/// by the owner of `/proc/self` (no C calls needed).
#[cfg(target_os = "linux")]
fn account_entry() -> Option<(String, String)> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd_entry(&passwd, uid)
}

#[cfg(not(target_os = "linux"))]
fn account_entry() -> Option<(String, String)> {
    None
}

/// The login and the GECOS full name (its first comma field) of `uid`.
pub fn passwd_entry(passwd: &str, uid: u32) -> Option<(String, String)> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let login = fields.next()?;
        let _password = fields.next()?;
        let entry_uid: u32 = fields.next()?.parse().ok()?;
        let _gid = fields.next()?;
        let gecos = fields.next().unwrap_or("");
        (entry_uid == uid).then(|| {
            let real = gecos.split(',').next().unwrap_or("").trim().to_owned();
            (login.to_owned(), real)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_name_wins_then_the_login() {
        assert_eq!(
            pick_name(Some("Ana Pérez"), Some("ana")).as_deref(),
            Some("Ana Pérez")
        );
        assert_eq!(pick_name(Some(""), Some("ana")).as_deref(), Some("ana"));
        assert_eq!(pick_name(None, Some(" ana ")).as_deref(), Some("ana"));
        assert_eq!(pick_name(None, None), None);
        assert_eq!(pick_name(Some("\u{7}"), Some("")), None);
        let long = "é".repeat(40);
        let cut = pick_name(Some(&long), None).expect("cut to the limit");
        assert_eq!(cut.chars().count(), validate::MAX_NAME_CHARS);
    }

    #[test]
    fn passwd_lines_give_login_and_gecos() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      broken line\n\
                      ana:x:1000:1000:Ana Pérez,,,:/home/ana:/bin/bash\n\
                      ben:x:1001:1001::/home/ben:/bin/sh\n";
        assert_eq!(
            passwd_entry(passwd, 1000),
            Some(("ana".into(), "Ana Pérez".into()))
        );
        assert_eq!(passwd_entry(passwd, 1001), Some(("ben".into(), "".into())));
        assert_eq!(passwd_entry(passwd, 7), None);
    }
}
