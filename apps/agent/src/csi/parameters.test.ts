import { describe, expect, it } from "vitest";
import { CsiError } from "./errors";
import { parseParameters } from "./parameters";

function refusal(raw: Record<string, string>): string {
  try {
    parseParameters(raw);
  } catch (err) {
    if (err instanceof CsiError) return err.message;
    throw err;
  }
  throw new Error("accepted");
}

describe("StorageClass parameters", () => {
  it("fills the contract's defaults and ignores the sidecars' own keys", () => {
    expect(parseParameters({ "csi.storage.k8s.io/pvc/name": "data" })).toEqual({ replicas: 3, zoneSpread: true, encrypted: false });
  });

  it("reads every parameter and honours the sidecar's fstype", () => {
    expect(parseParameters({ replicas: "1", zoneSpread: "false", encrypted: "true", encryptionKey: "primary", fsType: "xfs" })).toEqual({
      replicas: 1,
      zoneSpread: false,
      encrypted: true,
      encryptionKey: "primary",
      fsType: "xfs",
    });
    expect(parseParameters({ "csi.storage.k8s.io/fstype": "xfs" }).fsType).toBe("xfs");
  });

  it("names the parameter it refuses", () => {
    expect(refusal({ replicas: "0" })).toMatch(/^parameter replicas/);
    expect(refusal({ zoneSpread: "1" })).toMatch(/^parameter zoneSpread/);
    expect(refusal({ encrypted: "TRUE" })).toMatch(/^parameter encrypted/);
    expect(refusal({ fsType: "ext3" })).toMatch(/^parameter fsType/);
    expect(refusal({ size: "1Gi" })).toBe("unknown parameter size");
    expect(refusal({ encrypted: "true", encryptionKey: "" })).toMatch(/^parameter encryptionKey/);
    expect(refusal({ encryptionKey: "k" })).toMatch(/encryptionKey needs encrypted/);
  });
});
