//! System calls without libc, for the namespace joiner (child 1 of [`crate::spawn`]), which runs in the
//! coordinator's own memory: a libc wrapper would write `errno`, which lives in the thread-local storage
//! of the coordinator thread that started the child (and which runs on meanwhile), and some wrappers
//! (`setresuid`, `setgroups`, `raise`) act on the coordinator's threads. These only make the system call.
//! x86_64 only, as the crate.

use std::arch::asm;

/// The kernel's answer to a system call: its result, or `-errno`.
pub type Answer = isize;

/// Makes system call `nr` with up to six arguments (unused ones zero).
///
/// # Safety
/// The arguments must be valid for that system call (pointers to memory it may read or write).
#[inline(always)]
pub unsafe fn syscall(nr: libc::c_long, args: [usize; 6]) -> Answer {
    let ret: isize;
    // SAFETY: the `syscall` instruction with the x86_64 Linux convention: number in rax, arguments in
    // rdi, rsi, rdx, r10, r8, r9; the kernel clobbers rcx and r11 and touches no user stack. Memory the
    // arguments point to is the caller's responsibility.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// [`syscall`] with fewer arguments.
#[inline(always)]
pub unsafe fn syscall0(nr: libc::c_long) -> Answer {
    // SAFETY: the caller's.
    unsafe { syscall(nr, [0; 6]) }
}

#[inline(always)]
pub unsafe fn syscall1(nr: libc::c_long, a: usize) -> Answer {
    // SAFETY: the caller's.
    unsafe { syscall(nr, [a, 0, 0, 0, 0, 0]) }
}

#[inline(always)]
pub unsafe fn syscall2(nr: libc::c_long, a: usize, b: usize) -> Answer {
    // SAFETY: the caller's.
    unsafe { syscall(nr, [a, b, 0, 0, 0, 0]) }
}

#[inline(always)]
pub unsafe fn syscall3(nr: libc::c_long, a: usize, b: usize, c: usize) -> Answer {
    // SAFETY: the caller's.
    unsafe { syscall(nr, [a, b, c, 0, 0, 0]) }
}

#[inline(always)]
pub unsafe fn syscall4(nr: libc::c_long, a: usize, b: usize, c: usize, d: usize) -> Answer {
    // SAFETY: the caller's.
    unsafe { syscall(nr, [a, b, c, d, 0, 0]) }
}

/// `prctl(option, arg2)` (the other arguments zero, as the options used here require).
#[inline(always)]
pub unsafe fn prctl(option: libc::c_int, arg2: usize) -> Answer {
    // SAFETY: the caller's; the options used here take integers only.
    unsafe { syscall(libc::SYS_prctl, [option as usize, arg2, 0, 0, 0, 0]) }
}

/// The size of the kernel's signal set, as rt_sigprocmask wants it.
const SIGSET_BYTES: usize = 8;

/// `rt_sigprocmask(how, set, old)` on the calling thread's signal mask (the kernel's 64-bit set), writing
/// the mask it had to `old` if given. The kernel's answer: 0 or -errno.
#[inline(always)]
pub fn sigprocmask(how: libc::c_int, set: &u64, old: Option<&mut u64>) -> Answer {
    let old = old.map_or(std::ptr::null_mut(), |o| o as *mut u64);
    // SAFETY: the kernel reads 8 bytes at `set` and writes 8 bytes at `old` unless it is null, both
    // references (or null) valid for the call.
    unsafe {
        syscall4(
            libc::SYS_rt_sigprocmask,
            how as usize,
            set as *const u64 as usize,
            old as usize,
            SIGSET_BYTES,
        )
    }
}

/// Ends the calling process (its own thread group only) with `code`.
#[inline(always)]
pub fn exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group takes an integer and does not return.
        unsafe { syscall1(libc::SYS_exit_group, code as usize) };
    }
}

/// `fork` as the bare system call: a new process with a copy of this one's memory, running on from
/// here (0 in the child, its PID in the parent). No libc fork handlers run, none of libc's locks are taken.
#[inline(always)]
pub unsafe fn fork() -> Answer {
    // SAFETY: clone with SIGCHLD and no other flag is fork; the child continues on its copy of the stack.
    unsafe { syscall(libc::SYS_clone, [libc::SIGCHLD as usize, 0, 0, 0, 0, 0]) }
}

/// Starts a process that shares this one's memory (`CLONE_VM`; everything else, descriptors, root,
/// credentials, signal handlers, is its own copy) and runs `entry(arg)` on the stack that ends at
/// `stack_top`. `entry` must never return. Returns the child's PID or `-errno`.
///
/// # Safety
/// `stack_top` must be the 16-byte aligned end of writable memory that nothing else uses until the
/// child has been reaped, and `arg` must stay valid as long as `entry` uses it; `entry` must only make
/// system calls through this module and touch nothing but its stack and `arg` (see the module notes).
pub unsafe fn clone_vm(
    stack_top: *mut u8,
    entry: extern "C" fn(*const u8) -> !,
    arg: *const u8,
) -> Answer {
    let ret: isize;
    let flags = (libc::CLONE_VM | libc::SIGCHLD) as usize;
    // SAFETY: clone(flags, stack, parent_tid, child_tid, tls). In the parent the instruction returns the
    // child's PID (or -errno) and nothing else changed (rdi, rsi, r12, r13 are preserved by the kernel).
    // The child starts at the same place with rax = 0 and rsp = stack_top: it calls entry(arg) (aligned
    // as the ABI wants: rsp is 16-byte aligned before the call), which never returns; ud2 traps if it did.
    unsafe {
        asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov rdi, r12",
            "call r13",
            "ud2",
            "2:",
            inlateout("rax") libc::SYS_clone as isize => ret,
            in("rdi") flags,
            in("rsi") stack_top,
            in("rdx") 0usize,
            in("r10") 0usize,
            in("r8") 0usize,
            in("r12") arg,
            in("r13") entry,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    ret
}
