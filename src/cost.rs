//! Counts the work of a parser of untrusted input, in the tests only: each
//! parser adds the bytes it looks at ([`add`]), and a test reads the total
//! for an input and for one twice as long ([`of`]): linear work at most
//! doubles. Outside the tests [`add`] is nothing at all.

#[cfg(test)]
thread_local! {
    static WORK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// `bytes` more were looked at.
#[cfg(not(test))]
#[inline(always)]
pub fn add(_bytes: usize) {}

/// `bytes` more were looked at.
#[cfg(test)]
pub fn add(bytes: usize) {
    WORK.with(|w| w.set(w.get() + bytes));
}

/// The work `f` did.
#[cfg(test)]
pub fn of(f: impl FnOnce()) -> usize {
    WORK.with(|w| w.set(0));
    f();
    WORK.with(|w| w.get())
}

/// Asserts that `run` over inputs `make(n)` and `make(2n)` does linear work:
/// at most `per_byte` looks per byte, and at most twice the work (with a
/// little slack for constant costs) for twice the input.
#[cfg(test)]
pub fn assert_linear(
    what: &str,
    n: usize,
    per_byte: usize,
    make: impl Fn(usize) -> Vec<u8>,
    run: impl Fn(&[u8]),
) {
    let (small, large) = (make(n), make(2 * n));
    let (c1, c2) = (of(|| run(&small)), of(|| run(&large)));
    assert!(c1 > 0, "{what}: no work counted: the parser does not report its work");
    assert!(c1 <= per_byte * small.len(), "{what}: {c1} looks for {} bytes", small.len());
    assert!(
        c2 <= 2 * c1 + 1024,
        "{what}: {c1} looks for {} bytes, then {c2} for {}",
        small.len(),
        large.len()
    );
}
