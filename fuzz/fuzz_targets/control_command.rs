//! One control-socket request line: parsing never panics, and a request
//! that parses re-encodes to a line that parses to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use routelet::control::Request;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = Request::from_line(data) {
        let line = request.to_line();
        let again = Request::from_line(line.as_bytes()).expect("re-encoded request parses");
        assert_eq!(format!("{request:?}"), format!("{again:?}"));
    }
});
