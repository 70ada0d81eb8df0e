use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{format, KeaVersion, Vars};

/// The variables rendered so far and the current name prefix.
///
/// Renderers extend the prefix with [`Env::scoped`] and add variables by suffix; names and
/// values are copied into one buffer ([`Vars`]), so a variable costs no allocation of its
/// own.
pub(crate) struct Env {
    vars: Vars,
    name: String,
    /// Where a value is formatted before it is copied into `vars` (reused).
    scratch: String,
    /// The Kea release whose hook's texts the renderers use (lease states, message types).
    pub(crate) kea: KeaVersion,
}

impl Env {
    /// An empty environment with room for `vars` variables (no reallocation while rendering).
    pub(crate) fn with_capacity(vars: usize) -> Env {
        Env {
            // Most values are short: numbers, addresses, MACs.
            vars: Vars::with_capacity(vars, vars * 32),
            name: String::with_capacity(64),
            scratch: String::with_capacity(64),
            kea: KeaVersion::default(),
        }
    }

    pub(crate) fn into_vars(self) -> Vars {
        self.vars
    }

    /// Runs `render` with `part` appended to the name prefix.
    pub(crate) fn scoped(&mut self, part: &str, render: impl FnOnce(&mut Env)) {
        let len = self.name.len();
        self.name.push_str(part);
        render(self);
        self.name.truncate(len);
    }

    /// Runs `render` with `_AT<index>` appended to the name prefix.
    pub(crate) fn indexed(&mut self, index: usize, render: impl FnOnce(&mut Env)) {
        let len = self.name.len();
        let _ = write!(self.name, "_AT{index}");
        render(self);
        self.name.truncate(len);
    }

    /// Adds `<prefix><suffix>`, its value written by `write` or empty when there is none.
    pub(crate) fn set<T>(
        &mut self,
        suffix: &str,
        value: Option<T>,
        write: impl FnOnce(&mut String, T),
    ) {
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        if let Some(value) = value {
            write(&mut text, value);
        }
        self.push(suffix, text.as_bytes());
        self.scratch = text;
    }

    /// Adds `<prefix><suffix>` = `value`.
    fn push(&mut self, suffix: &str, value: &[u8]) {
        self.vars
            .push_parts(&[self.name.as_bytes(), suffix.as_bytes()], value);
    }

    /// A decimal integer (Kea's `boost::lexical_cast` of the value as `uint64_t`).
    pub(crate) fn int(&mut self, suffix: &str, value: Option<u64>) {
        self.set(suffix, value, format::push_uint);
    }

    /// A fixed text.
    pub(crate) fn word(&mut self, suffix: &str, value: Option<&str>) {
        self.set(suffix, value, |out, text| out.push_str(text));
    }

    /// A free-form string from Kea (`&str`, or bytes such as a [`Text`](crate::Text)), cut at its first
    /// NUL; bytes that are not UTF-8 stay as they are (Kea's hook passes them so).
    pub(crate) fn text<T: AsRef<[u8]> + ?Sized>(&mut self, suffix: &str, value: Option<&T>) {
        let bytes = value.map_or(&[][..], |v| format::until_nul(v.as_ref()));
        self.push(suffix, bytes);
    }

    pub(crate) fn ipv4(&mut self, suffix: &str, value: Option<Ipv4Addr>) {
        self.set(suffix, value, format::push_ipv4);
    }

    pub(crate) fn ipv6(&mut self, suffix: &str, value: Option<Ipv6Addr>) {
        self.set(suffix, value, format::push_ipv6);
    }

    /// Bytes as colon-separated lower-case hex (hardware addresses, client-ids, DUIDs).
    pub(crate) fn colon_hex(&mut self, suffix: &str, value: Option<&[u8]>) {
        self.set(suffix, value, format::push_colon_hex);
    }

    /// `<prefix>_OPTION_<code>` = the option payload as `0x` + upper-case hex.
    pub(crate) fn option(&mut self, code: u16, payload: &[u8]) {
        let len = self.name.len();
        let _ = write!(self.name, "_OPTION_{code}");
        self.set("", Some(payload), format::push_option_hex);
        self.name.truncate(len);
    }
}
