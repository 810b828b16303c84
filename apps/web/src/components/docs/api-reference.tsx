import { Badge } from "~/components/ui/badge";
import {
  constraints,
  groupOperations,
  type HttpMethod,
  objectProperties,
  type OpenApiDocument,
  type Operation,
  refName,
  resolveResponse,
  schemaAnchor,
  type SchemaObject,
  typeLabel,
} from "~/lib/openapi";
import { cn } from "~/lib/utils";

const METHOD_STYLE: Record<HttpMethod, string> = {
  get: "bg-sky-100 text-sky-800",
  post: "bg-emerald-100 text-emerald-800",
  put: "bg-amber-100 text-amber-800",
  patch: "bg-amber-100 text-amber-800",
  delete: "bg-red-100 text-red-800",
};

/** "api-keys" → "API keys". */
function tagLabel(tag: string): string {
  const words = tag.split(/[-_\s]+/).map((w) => (w.toLowerCase() === "api" ? "API" : w.toLowerCase()));
  const [first = "", ...rest] = words;
  return [first === "API" ? first : first.charAt(0).toUpperCase() + first.slice(1), ...rest].join(" ");
}

/** Descriptions are CommonMark; render its `code` spans, leave the rest as text. */
function Prose({ text, className }: { text: string; className?: string }) {
  const parts = text.split(/(`[^`]+`)/g);
  return (
    <p className={className}>
      {parts.map((part, i) =>
        part.startsWith("`") && part.endsWith("`") && part.length > 2 ? (
          <code key={i} className="rounded bg-muted px-1 py-0.5 font-mono text-[0.85em] text-foreground">
            {part.slice(1, -1)}
          </code>
        ) : (
          part
        ),
      )}
    </p>
  );
}

export function MethodBadge({ method, className }: { method: HttpMethod; className?: string }) {
  return (
    <span className={cn("inline-flex w-14 shrink-0 justify-center rounded px-1.5 py-0.5 font-mono text-[11px] font-semibold uppercase", METHOD_STYLE[method], className)}>
      {method.toUpperCase()}
    </span>
  );
}

function TypeRef({ schema }: { schema: SchemaObject | undefined }) {
  const label = typeLabel(schema);
  const ref = schema?.$ref ?? schema?.items?.$ref;
  if (ref) {
    return (
      <a href={`#${schemaAnchor(refName(ref))}`} className="font-mono text-xs text-brand underline-offset-2 hover:underline">
        {label}
      </a>
    );
  }
  return <code className="font-mono text-xs break-all text-muted-foreground">{label}</code>;
}

function PropertiesTable({ doc, schema, caption }: { doc: OpenApiDocument; schema: SchemaObject | undefined; caption: string }) {
  const obj = objectProperties(doc, schema);
  if (!obj) {
    return (
      <p className="text-sm">
        <TypeRef schema={schema} />
      </p>
    );
  }
  return (
    <table className="w-full text-sm" aria-label={caption}>
      <thead>
        <tr className="border-b text-left text-xs text-muted-foreground">
          <th scope="col" className="py-1.5 pr-3 font-medium">
            Field
          </th>
          <th scope="col" className="py-1.5 pr-3 font-medium">
            Type
          </th>
          <th scope="col" className="py-1.5 font-medium">
            Description
          </th>
        </tr>
      </thead>
      <tbody>
        {Object.entries(obj.properties).map(([name, prop]) => (
          <tr key={name} className="border-b last:border-0 align-top">
            <td className="py-2 pr-3 font-mono text-xs">
              {name}
              {obj.required.includes(name) ? <span className="ml-1 text-destructive" title="required">*</span> : null}
            </td>
            <td className="py-2 pr-3">
              <TypeRef schema={prop} />
            </td>
            <td className="py-2 text-muted-foreground">
              {prop.description ?? ""}
              {constraints(prop).length ? <span className="block text-xs">{constraints(prop).join(", ")}</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function OperationSection({ doc, operation }: { doc: OpenApiDocument; operation: Operation }) {
  const { op, method, path, parameters } = operation;
  const body = op.requestBody?.content?.["application/json"]?.schema;
  const responses = Object.entries(op.responses ?? {});
  return (
    <section id={operation.id} aria-labelledby={`${operation.id}-title`} className="scroll-mt-20 rounded-xl border bg-card">
      <header className="grid gap-2 border-b px-5 py-4">
        <h3 id={`${operation.id}-title`} className="flex flex-wrap items-center gap-3">
          <MethodBadge method={method} />
          <code className="font-mono text-sm font-medium">/api/v1{path}</code>
          {op.deprecated ? <Badge variant="warning">Deprecated</Badge> : null}
        </h3>
        {op.summary ? <p className="text-sm font-medium">{op.summary}</p> : null}
        {op.description ? <Prose text={op.description} className="text-sm text-muted-foreground" /> : null}
      </header>
      <div className="grid gap-5 px-5 py-4">
        {parameters.length > 0 ? (
          <div className="grid gap-2">
            <h4 className="text-xs font-semibold tracking-wide text-muted-foreground uppercase">Parameters</h4>
            <table className="w-full text-sm" aria-label={`Parameters of ${method.toUpperCase()} ${path}`}>
              <thead>
                <tr className="border-b text-left text-xs text-muted-foreground">
                  <th scope="col" className="py-1.5 pr-3 font-medium">
                    Name
                  </th>
                  <th scope="col" className="py-1.5 pr-3 font-medium">
                    In
                  </th>
                  <th scope="col" className="py-1.5 pr-3 font-medium">
                    Type
                  </th>
                  <th scope="col" className="py-1.5 font-medium">
                    Description
                  </th>
                </tr>
              </thead>
              <tbody>
                {parameters.map((p) => (
                  <tr key={`${p.in}-${p.name}`} className="border-b last:border-0 align-top">
                    <td className="py-2 pr-3 font-mono text-xs">
                      {p.name}
                      {p.required ? <span className="ml-1 text-destructive" title="required">*</span> : null}
                    </td>
                    <td className="py-2 pr-3 text-xs text-muted-foreground">{p.in}</td>
                    <td className="py-2 pr-3">
                      <TypeRef schema={p.schema} />
                    </td>
                    <td className="py-2 text-muted-foreground">
                      {p.description ?? p.schema?.description ?? ""}
                      {p.schema && constraints(p.schema).length ? <span className="block text-xs">{constraints(p.schema).join(", ")}</span> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {body ? (
          <div className="grid gap-2">
            <h4 className="text-xs font-semibold tracking-wide text-muted-foreground uppercase">Request body</h4>
            <PropertiesTable doc={doc} schema={body} caption={`Request body of ${method.toUpperCase()} ${path}`} />
          </div>
        ) : null}
        {responses.length > 0 ? (
          <div className="grid gap-2">
            <h4 className="text-xs font-semibold tracking-wide text-muted-foreground uppercase">Responses</h4>
            <ul className="grid gap-1.5">
              {responses.map(([status, raw]) => {
                const r = resolveResponse(doc, raw);
                const schema = r.content?.["application/json"]?.schema;
                return (
                  <li key={status} className="flex flex-wrap items-baseline gap-3 text-sm">
                    <Badge variant={status.startsWith("2") ? "success" : status.startsWith("4") ? "warning" : "destructive"} className="font-mono">
                      {status}
                    </Badge>
                    <span className="text-muted-foreground">{r.description}</span>
                    {schema ? <TypeRef schema={schema} /> : null}
                  </li>
                );
              })}
            </ul>
          </div>
        ) : null}
      </div>
    </section>
  );
}

export function ApiReference({ doc }: { doc: OpenApiDocument }) {
  const groups = groupOperations(doc);
  const schemas = Object.entries(doc.components?.schemas ?? {});
  const security = Object.entries(doc.components?.securitySchemes ?? {});
  return (
    <div className="mx-auto flex w-full max-w-7xl gap-10 px-4 py-8 md:px-8">
      <nav aria-label="Endpoints" className="sticky top-20 hidden h-[calc(100dvh-6rem)] w-64 shrink-0 overflow-y-auto pb-8 lg:block">
        <ul className="grid gap-5 text-sm">
          {groups.map((g) => (
            <li key={g.tag} className="grid gap-1">
              <a href={`#tag-${g.tag}`} className="font-medium hover:underline">
                {tagLabel(g.tag)}
              </a>
              <ul className="grid gap-0.5">
                {g.operations.map((o) => (
                  <li key={o.id}>
                    <a href={`#${o.id}`} className="flex items-center gap-2 rounded px-1 py-0.5 text-muted-foreground hover:bg-muted hover:text-foreground">
                      <MethodBadge method={o.method} className="w-12 text-[10px]" />
                      <span className="truncate">{o.op.summary ?? o.path}</span>
                    </a>
                  </li>
                ))}
              </ul>
            </li>
          ))}
          {schemas.length > 0 ? (
            <li>
              <a href="#schemas" className="font-medium hover:underline">
                Schemas
              </a>
            </li>
          ) : null}
        </ul>
      </nav>
      <div className="grid min-w-0 flex-1 gap-10">
        <header className="grid gap-3 border-b pb-6">
          <p className="text-sm text-muted-foreground">REST API · OpenAPI {doc.openapi}</p>
          <h1 className="text-3xl font-semibold tracking-tight">{doc.info.title}</h1>
          <p className="text-sm">
            Version <code className="font-mono">{doc.info.version}</code>
          </p>
          {doc.info.description ? <Prose text={doc.info.description} className="max-w-3xl text-sm whitespace-pre-line text-muted-foreground" /> : null}
          <div className="grid gap-2 text-sm">
            {doc.servers?.map((s) => (
              <p key={s.url}>
                Base URL: <code className="rounded bg-muted px-1.5 py-0.5 font-mono text-xs">{s.url}</code>
              </p>
            ))}
            {security.map(([name, scheme]) => (
              <p key={name}>
                Authentication: <code className="rounded bg-muted px-1.5 py-0.5 font-mono text-xs">Authorization: Bearer &lt;API key&gt;</code>{" "}
                <span className="text-muted-foreground">({scheme.description ?? `${scheme.type}${scheme.scheme ? ` ${scheme.scheme}` : ""}`})</span>
              </p>
            ))}
            <p>
              Machine-readable document:{" "}
              <a href="/api/v1/openapi.json" className="font-mono text-xs text-brand underline-offset-2 hover:underline">
                /api/v1/openapi.json
              </a>
            </p>
          </div>
        </header>
        {groups.map((g) => (
          <section key={g.tag} id={`tag-${g.tag}`} aria-labelledby={`tag-${g.tag}-title`} className="grid scroll-mt-20 gap-4">
            <div>
              <h2 id={`tag-${g.tag}-title`} className="text-xl font-semibold">
                {tagLabel(g.tag)}
              </h2>
              {g.description ? <Prose text={g.description} className="text-sm text-muted-foreground" /> : null}
            </div>
            {g.operations.map((o) => (
              <OperationSection key={o.id} doc={doc} operation={o} />
            ))}
          </section>
        ))}
        {schemas.length > 0 ? (
          <section id="schemas" aria-labelledby="schemas-title" className="grid scroll-mt-20 gap-4">
            <h2 id="schemas-title" className="text-xl font-semibold">
              Schemas
            </h2>
            {schemas.map(([name, schema]) => (
              <section key={name} id={schemaAnchor(name)} aria-labelledby={`${schemaAnchor(name)}-title`} className="scroll-mt-20 rounded-xl border bg-card px-5 py-4">
                <h3 id={`${schemaAnchor(name)}-title`} className="font-mono text-sm font-semibold">
                  {name}
                </h3>
                {schema.description ? <Prose text={schema.description} className="mt-1 text-sm text-muted-foreground" /> : null}
                <div className="mt-3">
                  <PropertiesTable doc={doc} schema={schema} caption={`Fields of ${name}`} />
                </div>
              </section>
            ))}
          </section>
        ) : null}
      </div>
    </div>
  );
}
