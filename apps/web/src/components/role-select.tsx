"use client";

import { isRole, ROLES, type Role } from "@stowage/api/client";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "~/components/ui/select";
import { formatRole } from "~/lib/format";

export const ROLE_HINTS: Record<Role, string> = {
  viewer: "Read-only access to the fleet",
  billing: "Billing: invoices, budgets and rate cards; reads the fleet",
  operator: "Create and change clusters",
  admin: "Everything but deleting the organization",
  owner: "Full control, including the organization itself",
};

export function RoleSelect({
  id,
  value,
  onChange,
  roles = ROLES,
  disabled,
  label,
  className,
  "aria-invalid": ariaInvalid,
  "aria-describedby": ariaDescribedBy,
}: {
  id?: string;
  value: Role;
  onChange: (role: Role) => void;
  roles?: readonly Role[];
  disabled?: boolean;
  /** Accessible name when no visible <Label htmlFor> points at the trigger. */
  label?: string;
  className?: string;
  "aria-invalid"?: boolean | undefined;
  "aria-describedby"?: string | undefined;
}) {
  return (
    <Select
      value={value}
      disabled={disabled}
      onValueChange={(v) => {
        if (isRole(v)) onChange(v);
      }}
    >
      <SelectTrigger id={id} aria-label={label} aria-invalid={ariaInvalid} aria-describedby={ariaDescribedBy} className={className}>
        <SelectValue />
      </SelectTrigger>
      <SelectContent>
        {roles.map((r) => (
          <SelectItem key={r} value={r}>
            {formatRole(r)}
          </SelectItem>
        ))}
      </SelectContent>
    </Select>
  );
}
