//! Text for people: durations in words (`1 min 30 s`), and strings from outside (meter
//! names, visible-strings and octet-strings a meter sends, device names) made safe to print,
//! so a meter cannot move the cursor, clear a terminal or reverse a line with control
//! characters or bidi overrides. Pure: no IO, no clock.

use std::borrow::Cow;
use std::fmt::Write;
use std::time::Duration;

/// A duration for people: `250 ms`, `15 s`, `1 min 30 s`, `2 h 5 min`, `1.5 s`; never
/// nanoseconds or Rust's debug form.
pub fn duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return match d.as_micros() {
            0 => "0 s".to_string(),
            us => format!("{us} µs"),
        };
    }
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    let mut out = Vec::new();
    if h > 0 {
        out.push(format!("{h} h"));
    }
    if min > 0 {
        out.push(format!("{min} min"));
    }
    match (s, ms) {
        (0, 0) => {}
        (s, 0) => out.push(format!("{s} s")),
        // Fractions only below a minute, where they matter (1.5 s), to the millisecond.
        (s, ms) if h == 0 && min == 0 => {
            let frac = format!("{ms:03}");
            out.push(format!("{s}.{} s", frac.trim_end_matches('0')));
        }
        (s, _) if s > 0 => out.push(format!("{s} s")),
        _ => {}
    }
    out.join(" ")
}

/// True for characters that must not reach a terminal or log as they are: C0 and C1 controls,
/// DEL, and the bidirectional formatting characters (embeddings, overrides, isolates, marks).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
}

/// `text` with every unsafe character written as an escape (`\n`, `\t`, `\r`, `\x1b`,
/// `\u{202e}`) and backslashes doubled, so what is printed is what was sent, visibly. Text
/// without such characters is returned as it is, without copying.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) || c == '\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_words() {
        for (ms, want) in [
            (0, "0 s"),
            (250, "250 ms"),
            (1000, "1 s"),
            (1500, "1.5 s"),
            (1250, "1.25 s"),
            (15_000, "15 s"),
            (90_000, "1 min 30 s"),
            (3_600_000, "1 h"),
            (7_500_000, "2 h 5 min"),
            (3_661_500, "1 h 1 min 1 s"),
        ] {
            assert_eq!(duration(Duration::from_millis(ms)), want, "{ms} ms");
        }
        assert_eq!(duration(Duration::from_nanos(1_500)), "1 µs");
    }

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        assert!(matches!(escape("DLG 12345678"), Cow::Borrowed(_)));
        assert_eq!(escape("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(escape("line\nnext\ttab\r"), "line\\nnext\\ttab\\r");
        assert_eq!(escape("abc\u{202E}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(escape("\u{0085}"), "\\u{0085}");
        assert_eq!(escape("\x7f"), "\\x7f");
        assert_eq!(
            escape("a\\u{202e}"),
            "a\\\\u{202e}",
            "a written escape stays visible"
        );
        assert_eq!(escape("Zähler €"), "Zähler €");
    }
}
