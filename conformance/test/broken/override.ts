/**
 * Returns `target` with `overrides` in place of some of its members. The
 * other members stay bound to `target`, including any that its interface
 * gains later, so a broken variant changes only what it names.
 */
export function withOverrides<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof T];
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === "function" ? value.bind(object) : value;
    },
  });
}
