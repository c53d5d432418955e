//! A name far over its bound is refused while it is still a slice of the received message:
//! decoding it allocates nothing near its size. Counted with an allocator that tallies each
//! thread's allocations, so the test harness's own threads do not count.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
};

use tether_proto::{bounds, control::ClientMessage, ProtoError};

struct Tallying;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed on to the system allocator unchanged; the tally is a
// thread-local cell with a constant initialiser, which never allocates.
unsafe impl GlobalAlloc for Tallying {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.set(ALLOCATED.get() + layout.size());
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static TALLYING: Tallying = Tallying;

#[test]
fn a_name_over_its_bound_is_refused_without_being_copied() {
    let name = "x".repeat(4 * 1024 * 1024 - 64);
    let body = postcard::to_allocvec(&ClientMessage::Register {
        name,
        auto_accept: false,
    })
    .unwrap();
    let before = ALLOCATED.get();
    let decoded = bounds::decode::<ClientMessage>(&body);
    let allocated = ALLOCATED.get() - before;
    assert!(
        matches!(decoded, Err(ProtoError::OutOfBounds(_))),
        "{decoded:?}"
    );
    assert!(allocated < 1024, "decoding allocated {allocated} bytes");
}
