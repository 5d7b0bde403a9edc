/**
 * The boards' default environments: the distro-boot environment of U-Boot's qemu_arm64 build (whose RAM
 * also starts at 0x40000000) retargeted at `pvblock`, plus the xenguest board's `loadimage` and
 * `pvblockboot`; and the real xenguest_arm64 build's own small environment.
 *
 * @module
 */

/** `ENV_SIZE` of the qemu_arm64 build (0x40000 less the CRC). */
export const DEFAULT_ENV_SIZE = 262140;
/** `ENV_SIZE` of the xenguest_arm64 build (0x1f000 less the CRC). */
export const XENGUEST_ENV_SIZE = 126972;

/** The default profile's compiled-in environment. */
export const DEFAULT_ENV: ReadonlyArray<readonly [string, string]> = [
  ["arch", "arm"],
  ["baudrate", "115200"],
  ["board", "xenguest_arm64"],
  ["board_name", "xenguest_arm64"],
  [
    "boot_a_script",
    "load ${devtype} ${devnum}:${distro_bootpart} ${scriptaddr} ${prefix}${script}; source ${scriptaddr}",
  ],
  [
    "boot_efi_binary",
    "load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} efi/boot/bootaa64.efi; if fdt addr -q ${fdt_addr_r}; then bootefi ${kernel_addr_r} ${fdt_addr_r};else bootefi ${kernel_addr_r} ${fdtcontroladdr};fi",
  ],
  [
    "boot_efi_bootmgr",
    "if fdt addr -q ${fdt_addr_r}; then bootefi bootmgr ${fdt_addr_r};else bootefi bootmgr;fi",
  ],
  [
    "boot_extlinux",
    "sysboot ${devtype} ${devnum}:${distro_bootpart} any ${scriptaddr} ${prefix}${boot_syslinux_conf}",
  ],
  ["boot_prefixes", "/ /boot/"],
  ["boot_scripts", "boot.scr.uimg boot.scr"],
  ["boot_syslinux_conf", "extlinux/extlinux.conf"],
  ["boot_targets", "pvblock0 pvblock1 pvblock2 pvblock3 "],
  ["bootcmd", "run distro_bootcmd"],
  ["bootcmd_pvblock0", "devnum=0; run pvblock_boot"],
  ["bootcmd_pvblock1", "devnum=1; run pvblock_boot"],
  ["bootcmd_pvblock2", "devnum=2; run pvblock_boot"],
  ["bootcmd_pvblock3", "devnum=3; run pvblock_boot"],
  ["bootdelay", "2"],
  ["cpu", "armv8"],
  ["distro_bootcmd", "for target in ${boot_targets}; do run bootcmd_${target}; done"],
  ["efi_dtb_prefixes", "/ /dtb/ /dtb/current/"],
  ["fdt_addr", "0x40000000"],
  ["fdt_high", "0xffffffff"],
  ["initrd_high", "0xffffffff"],
  ["kernel_addr_r", "0x40400000"],
  ["load_efi_dtb", "load ${devtype} ${devnum}:${distro_bootpart} ${fdt_addr_r} ${prefix}${efi_fdtfile}"],
  ["loadaddr", "0x40200000"],
  ["loadimage", "ext4load pvblock 0 0x90000000 /boot/Image;"],
  ["pvblock_boot", "if pvblock dev ${devnum}; then devtype=pvblock; run scan_dev_for_boot_part; fi"],
  ["pvblockboot", "run loadimage;booti 0x90000000 - 0x88000000;"],
  ["pxefile_addr_r", "0x40300000"],
  ["ramdisk_addr_r", "0x44000000"],
  [
    "scan_dev_for_boot",
    "echo Scanning ${devtype} ${devnum}:${distro_bootpart}...; for prefix in ${boot_prefixes}; do run scan_dev_for_extlinux; run scan_dev_for_scripts; done;run scan_dev_for_efi;",
  ],
  [
    "scan_dev_for_boot_part",
    "part list ${devtype} ${devnum} -bootable devplist; env exists devplist || setenv devplist 1; for distro_bootpart in ${devplist}; do if fstype ${devtype} ${devnum}:${distro_bootpart} bootfstype; then run scan_dev_for_boot; fi; done; setenv devplist",
  ],
  [
    "scan_dev_for_efi",
    "setenv efi_fdtfile ${fdtfile}; for prefix in ${efi_dtb_prefixes}; do if test -e ${devtype} ${devnum}:${distro_bootpart} ${prefix}${efi_fdtfile}; then run load_efi_dtb; fi;done;run boot_efi_bootmgr;if test -e ${devtype} ${devnum}:${distro_bootpart} efi/boot/bootaa64.efi; then echo Found EFI removable media binary efi/boot/bootaa64.efi; run boot_efi_binary; echo EFI LOAD FAILED: continuing...; fi; setenv efi_fdtfile",
  ],
  [
    "scan_dev_for_extlinux",
    "if test -e ${devtype} ${devnum}:${distro_bootpart} ${prefix}${boot_syslinux_conf}; then echo Found ${prefix}${boot_syslinux_conf}; run boot_extlinux; echo EXTLINUX FAILED: continuing...; fi",
  ],
  [
    "scan_dev_for_scripts",
    "for script in ${boot_scripts}; do if test -e ${devtype} ${devnum}:${distro_bootpart} ${prefix}${script}; then echo Found U-Boot script ${prefix}${script}; run boot_a_script; echo SCRIPT FAILED: continuing...; fi; done",
  ],
  ["scriptaddr", "0x40200000"],
  ["vendor", "xen"],
];

/** The xenguest_arm64 build's compiled-in environment (its board session's `printenv`). */
export const XENGUEST_ENV: ReadonlyArray<readonly [string, string]> = [
  ["baudrate", "115200"],
  ["bootdelay", "10"],
  ["loadaddr", "0x40000000"],
  ["loadimage", "ext4load pvblock 0 0x90000000 /boot/Image;"],
  ["pvblockboot", "run loadimage;booti 0x90000000 - 0x88000000;"],
];
