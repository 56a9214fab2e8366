//! Hand scanners in keyboard mode type what they read as key presses. With
//! the Russian layout active the keys come out as ЙЦУКЕН letters instead of
//! QWERTY: `CKAEB…` arrives as `СЛФУИ…`. This maps such text back.

/// Russian (ЙЦУКЕН) layout character → the US (QWERTY) character on the
/// same key, both cases, digits row shifted symbols included.
const MAP: &[(char, char)] = &[
    ('й', 'q'),
    ('ц', 'w'),
    ('у', 'e'),
    ('к', 'r'),
    ('е', 't'),
    ('н', 'y'),
    ('г', 'u'),
    ('ш', 'i'),
    ('щ', 'o'),
    ('з', 'p'),
    ('х', '['),
    ('ъ', ']'),
    ('ф', 'a'),
    ('ы', 's'),
    ('в', 'd'),
    ('а', 'f'),
    ('п', 'g'),
    ('р', 'h'),
    ('о', 'j'),
    ('л', 'k'),
    ('д', 'l'),
    ('ж', ';'),
    ('э', '\''),
    ('я', 'z'),
    ('ч', 'x'),
    ('с', 'c'),
    ('м', 'v'),
    ('и', 'b'),
    ('т', 'n'),
    ('ь', 'm'),
    ('б', ','),
    ('ю', '.'),
    ('ё', '`'),
    ('Й', 'Q'),
    ('Ц', 'W'),
    ('У', 'E'),
    ('К', 'R'),
    ('Е', 'T'),
    ('Н', 'Y'),
    ('Г', 'U'),
    ('Ш', 'I'),
    ('Щ', 'O'),
    ('З', 'P'),
    ('Х', '{'),
    ('Ъ', '}'),
    ('Ф', 'A'),
    ('Ы', 'S'),
    ('В', 'D'),
    ('А', 'F'),
    ('П', 'G'),
    ('Р', 'H'),
    ('О', 'J'),
    ('Л', 'K'),
    ('Д', 'L'),
    ('Ж', ':'),
    ('Э', '"'),
    ('Я', 'Z'),
    ('Ч', 'X'),
    ('С', 'C'),
    ('М', 'V'),
    ('И', 'B'),
    ('Т', 'N'),
    ('Ь', 'M'),
    ('Б', '<'),
    ('Ю', '>'),
    ('Ё', '~'),
    // Punctuation keys that differ: the key right of Ю (US `/`) types `.`
    // and with Shift `,`; Shift+digits type "№;:? where US has @#$^&.
    ('.', '/'),
    (',', '?'),
    ('"', '@'),
    ('№', '#'),
    (';', '$'),
    (':', '^'),
    ('?', '&'),
];

/// Maps text typed with the Russian (ЙЦУКЕН) layout active back to what the
/// same keys type in the US (QWERTY) layout: `СЛФУИ-123` → `CKAEB-123`...
/// Only applied to text that holds Cyrillic letters (otherwise returned
/// unchanged), because the punctuation keys are ambiguous on their own:
/// `.` may be a real dot. Characters of neither layout are kept as they are.
pub fn fix_keyboard_layout(s: &str) -> String {
    if !s.chars().any(|c| matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё')) {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            MAP.iter()
                .find(|(ru, _)| *ru == c)
                .map(|(_, us)| *us)
                .unwrap_or(c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_layout_maps_back_to_qwerty() {
        assert_eq!(fix_keyboard_layout("ЙЦУКЕН"), "QWERTY");
        assert_eq!(fix_keyboard_layout("йцукен"), "qwerty");
        assert_eq!(fix_keyboard_layout("СЛФУИ2345"), "CKAEB2345");
        assert_eq!(fix_keyboard_layout("Е-000123"), "T-000123");
        assert_eq!(
            fix_keyboard_layout("реезыЖ..учфьздуюсщь.ечЮ"),
            "https://example.com/tx>"
        );
        assert_eq!(fix_keyboard_layout("ХЪ№;Ё"), "{}#$~");
        // No Cyrillic: untouched (a dot stays a dot).
        assert_eq!(fix_keyboard_layout("T-000123.5"), "T-000123.5");
        // Every letter of the layout maps to a distinct key.
        let mut targets: Vec<char> = MAP.iter().map(|(_, us)| *us).collect();
        targets.sort_unstable();
        let n = targets.len();
        targets.dedup();
        assert_eq!(targets.len(), n);
    }
}
