/** `stowage-engine cert admin`: client certificates for the HTTPS admin API (see src/admin/tls.ts). */
import path from "node:path";
import { ADMIN_NAME_PATTERN } from "../../admin/tls";
import { writeAdminCertificate } from "../../cluster/certs";
import { parse, UsageError } from "../args";
import { wantsHelp, type Command } from "../context";

const usage = `Usage: stowage-engine cert admin --tls-dir DIR --name NAME --out DIR

Issues a client certificate for the admin API over HTTPS ('serve --admin-tls')
from the cluster CA in --tls-dir (ca.pem and ca-key.pem, as 'cluster init'
wrote them). The certificate's subject is CN=stowage-admin:NAME, O=stowage-admin,
its extended key usage clientAuth; nodes accept no other kind on that port.

Writes ca.pem, admin.pem and admin-key.pem (mode 0600) in --out: the directory
that --admin-cert-dir and $STOWAGE_ENGINE_ADMIN_TLS_DIR name.

Options:
  --tls-dir DIR   the cluster CA's directory (needs ca-key.pem)
  --name NAME     who the certificate is for, 1-63 of [a-z0-9.-] (appears in node logs)
  --out DIR       where to write the three files (created if missing)
  -h, --help      show this help`;

export const certCommand: Command = {
  name: "cert",
  summary: "issue admin client certificates from the cluster CA",
  usage,
  async run(args, ctx) {
    if (wantsHelp(args) || args.length === 0) {
      ctx.stdout(`${usage}\n`);
      return args.length === 0 ? 2 : 0;
    }
    const [sub, ...rest] = args;
    if (sub !== "admin") throw new UsageError(`unknown cert command '${sub ?? ""}' (admin)`);
    const { values, positionals } = parse(rest, { "tls-dir": { type: "string" }, name: { type: "string" }, out: { type: "string" } });
    if (positionals.length > 0) throw new UsageError(`cert admin takes no arguments, got '${positionals.join(" ")}'`);
    if (values["tls-dir"] === undefined || values.name === undefined || values.out === undefined) throw new UsageError("cert admin needs --tls-dir DIR, --name NAME and --out DIR");
    if (!ADMIN_NAME_PATTERN.test(values.name)) throw new UsageError(`--name must be 1-63 of [a-z0-9.-], got '${values.name}'`);
    const out = path.resolve(values.out);
    const written = await writeAdminCertificate(path.resolve(values["tls-dir"]), values.name, out);
    ctx.stdout(`wrote ${written.join(", ")} in ${out}\n`);
    return 0;
  },
};
