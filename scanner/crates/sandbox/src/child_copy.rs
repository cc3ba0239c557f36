//! Keeping the coordinator's memory out of child 2's copy of it.
//!
//! Child 2 is a real fork (crate::spawn): the kernel copies the page tables of every private mapping
//! holding anonymous pages and write-protects the coordinator's pages; child 2's exec then tears the copy
//! down, and the coordinator takes a copy-on-write fault on its next write to each page. With 3 MiB of
//! heap that is about 0.15 ms of CPU per container in a VM (docs/benchmarks.md). Child 2 reads nothing
//! but child 1's stack and the executable's code (`AnalyzerStart` in crate::spawn), so the coordinator's
//! anonymous memory (heaps, thread stacks, the executable's zeroed data) is marked `MADV_DONTFORK`, and
//! a fork leaves it out. Only when child 1 shares the coordinator's memory: a child 1 that is a fork runs
//! on a copy of the coordinator thread's stack and reads the plan on its heap.
//!
//! Marked once, when every coordinator thread has its malloc arena and before the first sandbox, and with
//! glibc's allocator kept from making a mapping of its own for a large block: from then on nothing of
//! the coordinator's data (other containers' command lines and maps) is in any child 2, which a container
//! with `CAP_SYS_PTRACE` could read (docs/security.md). Child 1's stacks are registered here and made and
//! removed under the lock that marking holds, so a stack is never marked, whenever marking runs.

use std::io;
use std::sync::{Mutex, MutexGuard};

use crate::spawn::STACK_BYTES;

/// The base addresses of child 1's stacks ([`STACK_BYTES`] each), which every fork must copy: child 2
/// runs on one.
static STACKS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

fn stacks() -> MutexGuard<'static, Vec<usize>> {
    STACKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Largest block glibc's malloc may still serve from a mapping of its own (its maximum `M_MMAP_THRESHOLD`
/// on 64-bit): every smaller one comes from an arena, which marking covers. The coordinator's largest
/// blocks are a few MiB (a workload's maps, capped at 4 MiB).
#[cfg(target_env = "gnu")]
const MMAP_THRESHOLD_BYTES: libc::c_int = 32 << 20;

/// Marks the coordinator's anonymous private mappings `MADV_DONTFORK`, except child 1's stacks, and
/// keeps malloc from mapping blocks below 32 MiB apart. Returns whether it applies: not when child 1
/// is a fork (`fs.suid_dumpable` 1, see crate::spawn). For the coordinator only, once each of its
/// threads has allocated (so that its malloc arena exists) and before its first sandbox: it changes
/// what every later fork of the process inherits.
pub fn exclude_coordinator_memory() -> io::Result<bool> {
    if !crate::spawn::joiner_may_share_memory() {
        return Ok(false);
    }
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets an allocator parameter; it returns 0 on failure.
    if unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) } == 0 {
        return Err(io::Error::other("mallopt(M_MMAP_THRESHOLD) failed"));
    }
    mark(&stacks())?;
    Ok(true)
}

/// Maps a new child 1 stack (private, anonymous, [`STACK_BYTES`]) and registers it, so that no marking
/// ever covers it.
pub(crate) fn map_stack() -> io::Result<*mut libc::c_void> {
    let mut registered = stacks();
    // SAFETY: a new private anonymous mapping; nothing else refers to it.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            STACK_BYTES,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    registered.push(base as usize);
    Ok(base)
}

/// Unmaps a stack made by [`map_stack`] and forgets it.
///
/// # Safety
/// `base` must come from [`map_stack`], and no process may run on it any more.
pub(crate) unsafe fn unmap_stack(base: *mut libc::c_void) {
    let mut registered = stacks();
    registered.retain(|b| *b != base as usize);
    // SAFETY: the caller's.
    unsafe { libc::munmap(base, STACK_BYTES) };
}

/// Reads this process's mappings and marks those [`to_exclude`] picks. Called with the stacks' lock held,
/// so that no stack appears or goes meanwhile.
fn mark(stacks: &[usize]) -> io::Result<()> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let keep: Vec<(usize, usize)> = stacks.iter().map(|b| (*b, *b + STACK_BYTES)).collect();
    for (start, end) in to_exclude(&maps, &keep) {
        // SAFETY: MADV_DONTFORK changes only what a later fork copies, never this process's memory; a
        // range unmapped meanwhile fails with ENOMEM, which is harmless.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTFORK) };
    }
    Ok(())
}

/// The ranges of `maps` (as `/proc/self/maps` lists them) that child 2 never needs: private mappings of no
/// file (no inode), unnamed, named anonymous memory or the process's `[heap]` and `[stack]`, none overlapping
/// a range of `keep`.
/// The kernel's special mappings (`[vdso]`, `[vvar]`) and every file mapping stay as they are.
pub(crate) fn to_exclude(maps: &str, keep: &[(usize, usize)]) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (start, end) = fields.next()?.split_once('-')?;
            let (start, end) = (
                usize::from_str_radix(start, 16).ok()?,
                usize::from_str_radix(end, 16).ok()?,
            );
            let private = fields.next()?.ends_with('p');
            let inode = fields.nth(2)?;
            let name = fields.next().unwrap_or("");
            // `[anon:<name>]`: anonymous memory named with PR_SET_VMA_ANON_NAME (glibc names its arenas and
            // thread stacks so when its `glibc.mem.decorate_maps` tunable is set).
            let anonymous = inode == "0"
                && (matches!(name, "" | "[heap]" | "[stack]") || name.starts_with("[anon:"));
            let kept = keep.iter().any(|(s, e)| start < *e && *s < end);
            (private && anonymous && !kept && start < end).then_some((start, end))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_heaps_and_anonymous_memory_but_no_file_no_special_mapping_and_no_stack_of_child_1() {
        // This process's own map, with a child 1 stack made the way spawn makes them.
        let stack = map_stack().expect("mmap");
        let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
        let base = stack as usize;
        let picked = to_exclude(&maps, &[(base, base + STACK_BYTES)]);
        let line_of = |(start, end): (usize, usize)| {
            maps.lines()
                .find(|l| l.starts_with(&format!("{start:x}-{end:x} ")))
                .unwrap_or_default()
                .to_string()
        };
        let heap = maps.lines().find(|l| l.ends_with("[heap]"));
        if let Some(heap) = heap {
            assert!(
                picked.iter().any(|r| line_of(*r) == heap),
                "the heap is picked: {picked:x?}"
            );
        }
        let main_stack = maps
            .lines()
            .find(|l| l.ends_with("[stack]"))
            .expect("[stack]");
        assert!(picked.iter().any(|r| line_of(*r) == main_stack));
        for range in &picked {
            let line = line_of(*range);
            assert!(!line.is_empty(), "{range:x?} is one of the listed mappings");
            assert!(!line.contains('/'), "no file mapping: {line}");
            assert!(
                !line.contains("[vdso]") && !line.contains("[vvar]"),
                "{line}"
            );
            assert!(
                range.1 <= base || range.0 >= base + STACK_BYTES,
                "child 1's stack is never picked: {line}"
            );
        }
        // SAFETY: mapped above, used by no process.
        unsafe { unmap_stack(stack) };
    }

    #[test]
    fn shared_mappings_and_malformed_lines_are_left_alone() {
        let maps = "1000-2000 rw-s 00000000 00:01 0 \n\
                    3000-4000 rw-p 00000000 00:00 0 \n\
                    garbage\n\
                    5000-6000 rw-p 00000000 fe:00 42 /usr/lib/x.so\n\
                    7000-8000 rw-p 00000000 00:00 0 [anon: glibc: malloc arena]\n\
                    9000-a000 r--p 00000000 00:00 0 [vvar]\n";
        assert_eq!(
            to_exclude(maps, &[]),
            vec![(0x3000, 0x4000), (0x7000, 0x8000)]
        );
        assert_eq!(to_exclude(maps, &[(0x3800, 0x7800)]), vec![]);
    }
}
