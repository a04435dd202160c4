//! The tree parsed back with the `fdt` crate: every property spec §2.2 calls mandatory.

use super::*;
use ::fdt::node::FdtNode;
use ::fdt::Fdt;
use alloc::string::String;
use alloc::vec;

/// A refused configuration: its name and how it is made.
type Case = (&'static str, fn(&mut DtConfig<'static>));

fn config(vcpus: u32) -> DtConfig<'static> {
    DtConfig {
        ram_bytes: 128 << 20,
        bootargs: "console=hvc0 quiet",
        initrd: Some((0x500_0000, 0x500_0650)),
        rtas_base: 0x410_0000,
        vcpus,
        cpu: CpuProps::default(),
    }
}

fn u32_of(n: FdtNode<'_, '_>, name: &str) -> u32 {
    let v = n.property(name).unwrap_or_else(|| panic!("{name}")).value;
    assert_eq!(v.len(), 4, "{name}");
    u32::from_be_bytes(v.try_into().unwrap())
}

fn u64_of(n: FdtNode<'_, '_>, name: &str) -> u64 {
    let v = n.property(name).unwrap_or_else(|| panic!("{name}")).value;
    assert_eq!(v.len(), 8, "{name}");
    u64::from_be_bytes(v.try_into().unwrap())
}

fn str_of<'a>(n: FdtNode<'_, 'a>, name: &str) -> &'a str {
    n.property(name)
        .unwrap_or_else(|| panic!("{name}"))
        .as_str()
        .unwrap()
}

#[test]
fn mandatory_properties_parse_back() {
    let dtb = build(&config(1)).unwrap();
    let t = Fdt::new(&dtb).unwrap();
    // Header: boot_cpuid_phys = 0 (matches cpu@0's interrupt server).
    assert_eq!(u32::from_be_bytes(dtb[28..32].try_into().unwrap()), 0);
    let rsv: Vec<_> = t.memory_reservations().collect();
    assert_eq!(rsv.len(), 1);
    assert_eq!(
        (rsv[0].address() as u64, rsv[0].size()),
        (0x410_0000, 0x1000)
    );

    let root = t.find_node("/").unwrap();
    assert_eq!(str_of(root, "device_type"), "chrp");
    assert_eq!(str_of(root, "compatible"), "qemu,pseries");
    assert_eq!(u32_of(root, "#address-cells"), 2);
    assert_eq!(u32_of(root, "#size-cells"), 2);

    let chosen = t.find_node("/chosen").unwrap();
    assert_eq!(str_of(chosen, "bootargs"), "console=hvc0 quiet");
    assert_eq!(u64_of(chosen, "linux,initrd-start"), 0x500_0000);
    assert_eq!(u64_of(chosen, "linux,initrd-end"), 0x500_0650);
    assert_eq!(str_of(chosen, "linux,stdout-path"), "/vdevice/vty@71000000");
    let vec5 = chosen.property("ibm,architecture-vec-5").unwrap().value;
    assert_eq!(
        (vec5.len(), vec5[0], vec5[24], vec5[26]),
        (27, 0x19, 0x40, 0x40)
    );
    assert!(t.find_node(str_of(chosen, "linux,stdout-path")).is_some());

    let rtas = t.find_node("/rtas").unwrap();
    assert_eq!(u32_of(rtas, "linux,rtas-base"), 0x410_0000);
    assert_eq!(u32_of(rtas, "linux,rtas-entry"), 0x410_0000);
    assert_eq!(u32_of(rtas, "rtas-size"), 0x1000);
    for (name, tok) in [
        ("power-off", 0x2003),
        ("system-reboot", 0x2004),
        ("get-time-of-day", 0x2001),
        ("set-time-of-day", 0x2002),
        ("ibm,os-term", 0x201f),
    ] {
        assert_eq!(u32_of(rtas, name), tok, "{name}");
    }
    assert_eq!(
        rtas.property("ibm,extended-os-term").unwrap().value.len(),
        0
    );
    assert_eq!(str_of(rtas, "ibm,hypertas-functions"), "hcall-set-mode");
    for name in ["start-cpu", "query-cpu-stopped-state", "stop-self"] {
        assert!(
            rtas.property(name).is_none(),
            "{name}: one vCPU, no SMP calls"
        );
    }

    let cpu = t.find_node("/cpus/PowerPC,POWER10@0").unwrap();
    assert_eq!(str_of(cpu, "device_type"), "cpu");
    assert_eq!(u32_of(cpu, "reg"), 0);
    assert_eq!(u32_of(cpu, "ibm,ppc-interrupt-server#s"), 0);
    assert_eq!(u32_of(cpu, "timebase-frequency"), 0x1e84_8000);
    assert_eq!(u32_of(cpu, "clock-frequency"), 0x3b9a_ca00);
    assert_eq!(u32_of(cpu, "ibm,vmx"), 2);
    assert_eq!(u32_of(cpu, "ibm,dfp"), 1);
    assert_eq!(u32_of(cpu, "d-cache-line-size"), 0x80);
    assert_eq!(u32_of(cpu, "i-cache-size"), 0x8000);
    let pa = cpu.property("ibm,pa-features").unwrap().value;
    assert_eq!((pa.len(), pa[0], pa[1]), (76, 74, 0));
    assert_eq!(&pa[..8], &[0x4a, 0x00, 0xf6, 0x3f, 0xc7, 0xc0, 0x00, 0xf0]);
    assert_eq!(
        &pa[68..76],
        &[0x00, 0x00, 0xce, 0x00, 0x00, 0x00, 0x80, 0x00]
    );
    let ap = cpu
        .property("ibm,processor-radix-AP-encodings")
        .unwrap()
        .value;
    assert_eq!(
        ap,
        &[0, 0, 0, 0xc, 0xa0, 0, 0, 0x10, 0x20, 0, 0, 0x15, 0x40, 0, 0, 0x1e]
    );
    assert!(cpu.property("64-bit").is_some());
    assert!(
        cpu.property("ibm,dec-bits").is_none(),
        "LD = 0: no dec-bits"
    );
    assert_eq!(t.find_node("/cpus").unwrap().children().count(), 1);

    let mem = t.find_node("/memory@0").unwrap();
    assert_eq!(str_of(mem, "device_type"), "memory");
    let reg = mem.property("reg").unwrap().value;
    assert_eq!(reg, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0]);

    let vdev = t.find_node("/vdevice").unwrap();
    assert_eq!(str_of(vdev, "device_type"), "vdevice");
    assert_eq!(str_of(vdev, "compatible"), "IBM,vdevice");
    let vty = t.find_node("/vdevice/vty@71000000").unwrap();
    assert_eq!(str_of(vty, "compatible"), "hvterm1");
    assert_eq!(str_of(vty, "device_type"), "serial");
    assert_eq!(u32_of(vty, "reg"), 0x7100_0000);
    assert!(vty.property("interrupts").is_none(), "polled vty");

    let icp = t.find_node("/interrupt-controller").unwrap();
    assert_eq!(str_of(icp, "compatible"), "IBM,ppc-xicp");
    assert!(icp.property("interrupt-controller").is_some());
    assert_eq!(
        icp.property("ibm,interrupt-server-ranges").unwrap().value,
        &[0, 0, 0, 0, 0, 0, 0, 1]
    );
    // The spec's tree is about 1.9 KB.
    assert!(dtb.len() < 4096, "{}", dtb.len());
}

#[test]
fn smp_without_initrd_and_custom_cpu() {
    let pa = [2u8, 0, 0xff, 0xff];
    let mut cfg = config(4);
    cfg.initrd = None;
    cfg.cpu = CpuProps {
        timebase_hz: 250_000_000,
        pa_features: Some(&pa),
        radix_ap_encodings: None,
        vmx: 0,
        dfp: false,
        ..CpuProps::default()
    };
    let dtb = build(&cfg).unwrap();
    let t = Fdt::new(&dtb).unwrap();
    let chosen = t.find_node("/chosen").unwrap();
    assert!(chosen.property("linux,initrd-start").is_none());
    let names: Vec<String> = t
        .find_node("/cpus")
        .unwrap()
        .children()
        .map(|c| String::from(c.name))
        .collect();
    assert_eq!(
        names,
        vec![
            "PowerPC,POWER10@0",
            "PowerPC,POWER10@1",
            "PowerPC,POWER10@2",
            "PowerPC,POWER10@3"
        ]
    );
    let cpu3 = t.find_node("/cpus/PowerPC,POWER10@3").unwrap();
    assert_eq!(u32_of(cpu3, "reg"), 3);
    assert_eq!(u32_of(cpu3, "ibm,ppc-interrupt-server#s"), 3);
    assert_eq!(u32_of(cpu3, "timebase-frequency"), 250_000_000);
    assert_eq!(cpu3.property("ibm,pa-features").unwrap().value, &pa);
    assert!(cpu3.property("ibm,processor-radix-AP-encodings").is_none());
    assert!(cpu3.property("ibm,vmx").is_none());
    assert!(cpu3.property("ibm,dfp").is_none());
    let icp = t.find_node("/interrupt-controller").unwrap();
    assert_eq!(
        icp.property("ibm,interrupt-server-ranges").unwrap().value,
        &[0, 0, 0, 0, 0, 0, 0, 4]
    );
    // Linux starts the secondaries with these (QEMU's token numbers).
    let rtas = t.find_node("/rtas").unwrap();
    for (name, tok) in [
        ("query-cpu-stopped-state", 0x2005),
        ("start-cpu", 0x2006),
        ("stop-self", 0x2007),
    ] {
        assert_eq!(u32_of(rtas, name), tok, "{name}");
    }
    // Every CPU node carries the same properties as the boot CPU's, bar reg/server.
    let props = |n: FdtNode<'_, '_>| -> Vec<String> {
        n.properties().map(|p| String::from(p.name)).collect()
    };
    let cpu0 = t.find_node("/cpus/PowerPC,POWER10@0").unwrap();
    for id in 1..4 {
        let c = t
            .find_node(&alloc::format!("/cpus/PowerPC,POWER10@{id}"))
            .unwrap();
        assert_eq!(props(c), props(cpu0), "cpu {id}");
        assert_eq!(u32_of(c, "reg"), id);
        assert_eq!(u32_of(c, "ibm,ppc-interrupt-server#s"), id);
        assert_eq!(u32_of(c, "cpu-version"), u32_of(cpu0, "cpu-version"));
    }
}

#[test]
fn bad_configs_are_refused() {
    let cases: [Case; 9] = [
        ("no RAM", |c| c.ram_bytes = 0),
        ("RAM not 4K", |c| c.ram_bytes = 0x1234),
        ("RTAS unaligned", |c| c.rtas_base = 0x410_0010),
        ("RTAS past RAM", |c| c.rtas_base = 128 << 20),
        ("RTAS above 4G", |c| {
            c.ram_bytes = 8 << 30;
            c.rtas_base = 5 << 30;
        }),
        ("initrd reversed", |c| {
            c.initrd = Some((0x600_0000, 0x500_0000))
        }),
        ("initrd past RAM", |c| {
            c.initrd = Some((0x500_0000, (128 << 20) + 1))
        }),
        ("no vCPU", |c| c.vcpus = 0),
        ("no timebase", |c| c.cpu.timebase_hz = 0),
    ];
    for (what, f) in cases {
        let mut c = config(1);
        f(&mut c);
        assert!(matches!(build(&c), Err(Error::DtConfig { .. })), "{what}");
    }
    let mut c = config(1);
    c.bootargs = "bad\0arg";
    assert!(matches!(build(&c), Err(Error::Fdt(_))));
    // The largest RTAS page that fits is fine.
    let mut c = config(1);
    c.rtas_base = (128 << 20) - 0x1000;
    c.initrd = None;
    assert!(build(&c).is_ok());
}
