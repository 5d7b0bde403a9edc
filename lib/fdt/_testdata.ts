/**
 * Internal test data: device tree sources compiled with the real `dtc` by the FDT tests.
 *
 * @module
 */

/**
 * The corpus `xen-guest.dts` of the U-Boot transcripts (reference/uboot/mkcorpus.sh), compiled there with
 * `dtc -@`; its blob has this SHA-256 in the corpus manifest.
 */
export const XEN_GUEST_DTS = `/dts-v1/;

/ {
	#address-cells = <2>;
	#size-cells = <2>;
	compatible = "xen,xenvm-4.17", "xen,xenvm";
	model = "XENVM-4.17";
	interrupt-parent = <&gic>;

	chosen {
		bootargs = "console=hvc0";
	};

	cpus {
		#address-cells = <1>;
		#size-cells = <0>;

		cpu@0 {
			device_type = "cpu";
			compatible = "arm,armv8";
			enable-method = "psci";
			reg = <0>;
		};

		cpu@1 {
			device_type = "cpu";
			compatible = "arm,armv8";
			enable-method = "psci";
			reg = <1>;
		};
	};

	psci {
		compatible = "arm,psci-1.0", "arm,psci-0.2", "arm,psci";
		method = "hvc";
		cpu_off = <1>;
		cpu_on = <2>;
	};

	memory@40000000 {
		device_type = "memory";
		reg = <0x0 0x40000000 0x0 0x20000000>;
	};

	gic: interrupt-controller@3001000 {
		compatible = "arm,cortex-a15-gic";
		#interrupt-cells = <3>;
		#address-cells = <0>;
		interrupt-controller;
		reg = <0x0 0x03001000 0x0 0x1000>, <0x0 0x03002000 0x0 0x2000>;
	};

	timer {
		compatible = "arm,armv8-timer";
		interrupts = <1 13 0xf08>, <1 14 0xf08>, <1 11 0xf08>, <1 10 0xf08>;
		clock-frequency = <62500000>;
	};

	hypervisor {
		compatible = "xen,xen-4.17", "xen,xen";
		reg = <0x0 0x38000000 0x0 0x1000000>;
		interrupts = <1 15 0xf08>;
	};
};
`;

/** SHA-256 of `src/xen-guest.dtb` in reference/uboot/goldens/corpus-MANIFEST.txt. */
export const XEN_GUEST_DTB_SHA256 = "feb4e87846d4637c1527e767ad46832f9b791d5f3633b16d837504f5c576eedd";

/** Memory reservations, aliases, phandles, labels, byte strings, empty values and shared name tails. */
export const FEATURES_DTS = `/dts-v1/;
/memreserve/ 0x10000000 0x1000;
/memreserve/ 0x20000000 0x200000;
/ {
	model = "m";
	compatible = "vendor,board", "vendor,soc";
	#address-cells = <1>;
	#size-cells = <1>;
	aliases {
		serial0 = &uart;
		deep = "/soc/bus@1000/leaf";
		loop = "loop";
	};
	soc {
		#address-cells = <1>;
		#size-cells = <0>;
		uart: serial@9000000 {
			compatible = "arm,pl011", "arm,primecell";
			reg = <0x9000000>;
			patible = "suffix";
			size-cells = [01 02 03];
			empty;
		};
		bus@1000 {
			reg = <0x1000>;
			leaf { ref = <&uart>; };
		};
		bus@2000 {
			reg = <0x2000>;
			leaf { value = /bits/ 64 <0x123456789abcdef0>; };
		};
	};
	memory@80000000 {
		device_type = "memory";
		reg = <0x80000000 0x10000000>;
	};
};
`;

/** A tree with `levels` nested nodes below the root, each holding one property. */
export function nestedDts(levels: number): string {
  let body = "";
  for (let i = levels; i >= 1; i--) body = `n${i} { d = <${i}>; ${body}};`;
  return `/dts-v1/;\n/ { ${body} };\n`;
}
