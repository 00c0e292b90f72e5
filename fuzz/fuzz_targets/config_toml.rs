//! `Config::from_toml_str` over arbitrary UTF-8; what validates is
//! summarised and compiled into a `Router`.
//!
//! Properties: no panic in TOML parsing, validation, `summary()`, link
//! synthesis, compilation or the router's first timer run and shutdown; a
//! validated config always compiles against its own synthetic links.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use routelet::config::Config;
use routelet::engine::{Instant, LinkInfo, Router, TxBatch};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::from_toml_str(text) {
        Ok(config) => config,
        Err(e) => {
            // The error's Display is what `routelet check` prints.
            black_box(e.to_string());
            return;
        }
    };
    black_box(config.summary());
    let links = LinkInfo::synthetic(&config);
    assert_eq!(links.len(), config.interfaces.len());
    let mut router = Router::from_config(&config, &links, Instant::ZERO)
        .expect("a validated config does not compile against its own links");
    let mut tx = TxBatch::default();
    if let Some(deadline) = router.next_deadline() {
        router.on_timer(deadline, &mut tx);
    }
    router.shutdown(Instant::from_secs(1), &mut tx);
    black_box(tx.len());
});
