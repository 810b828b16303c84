import { describe, expect, it } from "vitest";
import { kubeletOptionsSchema } from "./kubelet";

describe("kubelet options", () => {
  const base = { kubeconfig: "/tmp/kubeconfig", nodeName: "node-a", csiSocket: "/tmp/csi.sock", rootDir: "/tmp/kubelet" };

  it("takes an instance type that is a label value, and none", () => {
    expect(kubeletOptionsSchema.parse({ ...base, instanceType: "m5.xlarge" }).instanceType).toBe("m5.xlarge");
    expect(kubeletOptionsSchema.parse(base).instanceType).toBeUndefined();
  });

  it("refuses an instance type that cannot be a label value, naming the field", () => {
    for (const bad of ["", "m5 xlarge", "-m5", "x".repeat(64)]) {
      const r = kubeletOptionsSchema.safeParse({ ...base, instanceType: bad });
      expect(r.error?.issues.map((i) => i.path.join("."))).toEqual(["instanceType"]);
    }
  });
});
