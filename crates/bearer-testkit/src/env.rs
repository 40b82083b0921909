//! A fake environment for testing `from_env_with`, so tests never mutate the process
//! environment (`std::env::set_var` is unsound while other test threads run).

use std::collections::HashMap;

/// A variable lookup that sees only `pairs`: pass it to a provider's `from_env_with`.
pub fn env_map(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name| map.get(name).cloned()
}
