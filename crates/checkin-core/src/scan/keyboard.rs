pub fn fix_keyboard_layout(s: &str) -> String { s.to_string() }
