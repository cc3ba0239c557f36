//! The calling process's own credentials, read with system calls (no /proc needed), so the analyzer can
//! prove from inside a container what it runs as.

use crate::check;
use std::io;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: [u32; 3],
    pub gid: [u32; 3],
    pub groups: Vec<u32>,
    pub cap_effective: u64,
    pub cap_permitted: u64,
    pub cap_inheritable: u64,
    /// Number of capabilities still in the bounding set.
    pub cap_bounding: u32,
    pub no_new_privs: bool,
    /// 0 = none, 1 = strict, 2 = filter.
    pub seccomp_mode: i32,
    pub dumpable: bool,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

pub fn current() -> io::Result<Identity> {
    let (mut r, mut e, mut s) = (0, 0, 0);
    // SAFETY: the three pointers are valid for writes of one id each.
    check(unsafe { libc::getresuid(&mut r, &mut e, &mut s) } as libc::c_long)?;
    let uid = [r, e, s];
    // SAFETY: as above.
    check(unsafe { libc::getresgid(&mut r, &mut e, &mut s) } as libc::c_long)?;
    let gid = [r, e, s];
    let mut groups = vec![0 as libc::gid_t; 256];
    // SAFETY: the buffer holds 256 entries and the size passed says so.
    let n = check(
        unsafe { libc::getgroups(groups.len() as libc::c_int, groups.as_mut_ptr()) }
            as libc::c_long,
    )?;
    groups.truncate(n as usize);
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: version 3 capget writes two CapData records.
    check(unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    })?;
    let join = |f: fn(&CapData) -> u32| u64::from(f(&data[0])) | (u64::from(f(&data[1])) << 32);
    let mut cap_bounding = 0;
    for cap in 0..64 {
        // SAFETY: PR_CAPBSET_READ only reads; it fails with EINVAL past the last capability.
        if unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) } == 1 {
            cap_bounding += 1;
        }
    }
    // SAFETY: these prctl queries take no pointers.
    let (no_new_privs, seccomp_mode, dumpable) = unsafe {
        (
            libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
            libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0),
            libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0),
        )
    };
    Ok(Identity {
        uid,
        gid,
        groups,
        cap_effective: join(|d| d.effective),
        cap_permitted: join(|d| d.permitted),
        cap_inheritable: join(|d| d.inheritable),
        cap_bounding,
        no_new_privs: no_new_privs == 1,
        seccomp_mode,
        dumpable: dumpable == 1,
    })
}

/// Empties the calling thread's capability bounding set (threads started afterwards inherit it). Its
/// effective and permitted sets stay as they are; only what an `exec` could gain goes. For the
/// coordinator, which never executes anything itself, this is done once at start-up instead of once per
/// sandbox.
pub fn empty_bounding_set() -> io::Result<()> {
    for cap in 0..64 {
        // SAFETY: no pointers; EINVAL past the kernel's last capability ends the loop.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINVAL) && cap > 0 {
                return Ok(());
            }
            return Err(e);
        }
    }
    Ok(())
}

/// Makes the process non-dumpable: a same-uid process in the container can then neither ptrace it nor
/// open its `/proc/<pid>/` files.
pub fn set_not_dumpable() -> io::Result<()> {
    // SAFETY: no pointers.
    check(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } as libc::c_long).map(|_| ())
}

/// The analyzer's first act: no new privileges, not dumpable, and never execute anything again.
pub fn restrict_self() -> io::Result<()> {
    // SAFETY: no pointers. Already set by the coordinator; set again so a standalone run is restricted too.
    check(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } as libc::c_long)?;
    set_not_dumpable()?;
    crate::seccomp::analyzer_no_exec().install()
}
