//! What a decoded QR code holds, byte-exact: text only when the code says
//! unambiguously how its bytes are to be read, otherwise just the bytes.
//!
//! The rules (see `docs/scanning.md`):
//! - numeric, alphanumeric and kanji segments are text by definition;
//! - a code that declares its character set (ECI) is read in that set;
//! - byte segments without ECI are text when they are valid UTF-8 (ASCII
//!   included), or when they are strict Shift_JIS made of JIS X 0208
//!   double-byte characters (the Japanese convention QR was born with; no
//!   half-width katakana or vendor areas, which is what legacy single-byte
//!   encodings such as Windows-1251 or Latin-1 would look like);
//! - anything else is reported with `text: None` and the raw bytes, never a
//!   guessed string.

use encoding_rs::SHIFT_JIS;

/// Whether `bytes` are Shift_JIS text: strictly valid (JIS X 0208
/// double-byte characters, ASCII and half-width katakana only; no
/// user-defined or vendor lead bytes), with positive evidence of Japanese
/// (a double-byte character, or a half-width character in 0xA1..=0xBF that
/// is not a Cyrillic letter in Windows-1251 or KOI8-R; when the bytes are
/// also valid GB2312, a common double-byte character or two voiced-mark
/// pairs such as ﾃﾞ), and not plausibly
/// Russian in Windows-1251 or KOI8-R (every non-ASCII byte a Cyrillic letter
/// or common punctuation of those code pages).
///
/// Upper-case Cyrillic in Windows-1251 and half-width katakana share the
/// bytes 0xC0..=0xDF; such strings are refused (reported as bytes), never
/// guessed.
pub(crate) fn is_strict_shift_jis(bytes: &[u8]) -> bool {
    let mut i = 0;
    let mut evidence = false;
    let mut common_double = false;
    let mut voiced = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            if b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r') {
                return false;
            }
            i += 1;
            continue;
        }
        if (0xA1..=0xDF).contains(&b) {
            // A half-width kana letter (not ｰ or punctuation) that is not
            // also a Cyrillic letter in Windows-1251 or KOI8-R.
            evidence |= matches!(b, 0xA6..=0xAF | 0xB1..=0xBF) && !is_cyrillic_byte(b);
            if (b == 0xDE
                && matches!(
                    bytes.get(i.wrapping_sub(1)),
                    Some(0xB3 | 0xB6..=0xC4 | 0xCA..=0xCE)
                )
                && i > 0)
                || (b == 0xDF && matches!(bytes.get(i.wrapping_sub(1)), Some(0xCA..=0xCE)) && i > 0)
            {
                voiced += 1;
            }
            i += 1;
            continue;
        }
        let lead_ok = matches!(b, 0x81..=0x9F | 0xE0..=0xEA);
        let Some(&t) = bytes.get(i + 1) else {
            return false;
        };
        if !lead_ok || !matches!(t, 0x40..=0x7E | 0x80..=0xFC) {
            return false;
        }
        // Hiragana, katakana and common kanji have leads 0x81..=0x9F, which
        // GB2312 never uses.
        if b <= 0x9F {
            evidence = true;
            common_double = true;
        }
        i += 2;
    }
    if !evidence || plausibly_russian(bytes) {
        return false;
    }
    // Half-width katakana and GB2312 (EUC-CN) share bytes: when both
    // readings are valid, ask for two voiced-mark pairs (ﾃﾞ, ﾊﾟ) or a
    // common double-byte character.
    if is_euc_cn(bytes) && !common_double && voiced < 2 {
        return false;
    }
    let (_, _, had_errors) = SHIFT_JIS.decode(bytes);
    !had_errors
}

/// Every non-ASCII byte is in a GB2312 (EUC-CN) pair.
fn is_euc_cn(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] < 0x80 {
            i += 1;
        } else if matches!(bytes[i], 0xA1..=0xF7) && matches!(bytes.get(i + 1), Some(0xA1..=0xFE)) {
            i += 2;
        } else {
            return false;
        }
    }
    true
}

/// A Cyrillic letter in Windows-1251 (0xC0..=0xFF, Ё 0xA8, ё 0xB8) or
/// KOI8-R (0xC0..=0xFF, Ё 0xB3, ё 0xA3).
fn is_cyrillic_byte(b: u8) -> bool {
    b >= 0xC0 || matches!(b, 0xA8 | 0xB8 | 0xA3 | 0xB3)
}

/// Every non-ASCII byte is a Cyrillic letter or common punctuation of
/// Windows-1251 (…, quotes, dashes, «», №, °, no-break space), and most of
/// them are letters.
fn plausibly_russian(bytes: &[u8]) -> bool {
    let (mut letters, mut other) = (0usize, 0usize);
    for &b in bytes.iter().filter(|b| **b >= 0x80) {
        if is_cyrillic_byte(b) {
            letters += 1;
        } else if matches!(
            b,
            0x84 | 0x85 | 0x93 | 0x94 | 0x96 | 0x97 | 0xA0 | 0xAB | 0xB0 | 0xB9 | 0xBB
        ) {
            other += 1;
        } else {
            return false;
        }
    }
    letters > 0 && letters >= other
}

/// Reads `bytes` (no ECI) as text by the rules above: `None` when they are
/// not text we can name (report the bytes, never a guessed string).
pub fn text_of_undeclared(bytes: &[u8]) -> Option<String> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Some(s.to_string());
    }
    if is_strict_shift_jis(bytes) {
        let (s, _, _) = SHIFT_JIS.decode(bytes);
        return Some(s.into_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_and_ascii_are_text() {
        assert_eq!(text_of_undeclared(b"CKABC").as_deref(), Some("CKABC"));
        assert_eq!(
            text_of_undeclared("Чупшева".as_bytes()).as_deref(),
            Some("Чупшева")
        );
    }

    #[test]
    fn shift_jis_kanji_is_text_but_legacy_single_byte_is_not() {
        let (sjis, _, _) = SHIFT_JIS.encode("日本語のテキスト");
        assert_eq!(text_of_undeclared(&sjis).as_deref(), Some("日本語のテキスト"));
        // Windows-1251 "Иван Петров" and Latin-1 "Grüße": bytes, not text.
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("Иван Петров");
        assert_eq!(text_of_undeclared(&cp1251), None);
        assert_eq!(text_of_undeclared(b"Gr\xfc\xdfe"), None);
        for russian in [
            "иван петров",
            "ИВАНОВ ИВАН",
            "ЛЮДМИЛА",
            "ТАНЯ",
            "Билет №123",
            "«Форум» — 2026",
        ] {
            let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(russian);
            assert_eq!(text_of_undeclared(&cp1251), None, "{russian}");
            let (koi8, _, _) = encoding_rs::KOI8_R.encode(russian);
            assert_eq!(text_of_undeclared(&koi8), None, "{russian}");
        }
        for latin1 in [
            &b"Fran\xe7ais"[..],
            b"Cr\xe8me br\xfbl\xe9e",
            b"\xbfQu\xe9?",
            b"\xc7a va",
        ] {
            assert_eq!(text_of_undeclared(latin1), None);
        }
        // Half-width katakana with evidence (ｻ, ｲ) reads; GB2312 does not.
        assert_eq!(
            text_of_undeclared(b"\xc3\xde\xbb\xde\xb2\xddQR").as_deref(),
            Some("ﾃﾞｻﾞｲﾝQR")
        );
        assert_eq!(text_of_undeclared(b"AD:SUB:\xb0\xa2;;"), None);
        let (gb, _, _) = encoding_rs::GBK.encode("北京你好");
        assert_eq!(text_of_undeclared(&gb), None);
    }
}
