// The search as it lives in the page URL (#/?free_text=..&tags=..): parse, change, spell.

export const LISTS = ["creator_usernames", "base_uris", "tags", "annotations"];
export const SORTS = [
  ["-frozen_at", "Newest frozen first"],
  ["+frozen_at", "Oldest frozen first"],
  ["+name", "Name A–Z"],
  ["-name", "Name Z–A"],
  ["+creator_username", "Creator"],
  ["+base_uri", "Base URI"],
  ["+uri", "URI"],
];
export const PAGE_SIZES = [10, 25, 50, 100];

// The search of a hash like "#/?free_text=x&tags=a" as {free_text, lists..., sort, page, page_size}.
export function parseSearch(params) {
  const search = {
    free_text: params.get("free_text") || "",
    sort: params.get("sort") || SORTS[0][0],
    page: Math.max(1, Number.parseInt(params.get("page") || "1", 10) || 1),
    page_size: Number.parseInt(params.get("page_size") || "10", 10) || 10,
  };
  for (const name of LISTS) search[name] = params.getAll(name);
  return search;
}

// The URL query of a search (page 1 and defaults left out, so links stay short).
export function searchParams(search) {
  const params = new URLSearchParams();
  if (search.free_text) params.set("free_text", search.free_text);
  for (const name of LISTS) for (const value of search[name]) params.append(name, value);
  if (search.sort !== SORTS[0][0]) params.set("sort", search.sort);
  if (search.page > 1) params.set("page", String(search.page));
  if (search.page_size !== 10) params.set("page_size", String(search.page_size));
  return params;
}

// GET /uris's query string: the criteria plus paging and sort.
export function apiParams(search) {
  const params = new URLSearchParams();
  if (search.free_text.trim()) params.set("free_text", search.free_text.trim());
  for (const name of LISTS) for (const value of search[name]) params.append(name, value);
  params.set("sort", search.sort);
  params.set("page", String(search.page));
  params.set("page_size", String(search.page_size));
  return params;
}

// A value as the server reads "annotations=key=value": JSON scalars as JSON, else the text.
export function annotationValue(text) {
  try {
    const value = JSON.parse(text);
    return ["string", "number", "boolean"].includes(typeof value) ? value : text;
  } catch {
    return text;
  }
}

// The body of the annotation-filter routes for a search.
export function filterBody(search) {
  const body = {};
  if (search.free_text.trim()) body.free_text = search.free_text.trim();
  if (search.creator_usernames.length) body.creator_usernames = search.creator_usernames;
  if (search.base_uris.length) body.base_uris = search.base_uris;
  if (search.tags.length) body.tags = search.tags;
  if (search.annotations.length) {
    body.annotations = Object.fromEntries(
      search.annotations.map((pair) => {
        const at = pair.indexOf("=");
        return [pair.slice(0, at), annotationValue(pair.slice(at + 1))];
      }),
    );
  }
  return body;
}

export function toggled(list, value) {
  return list.includes(value) ? list.filter((item) => item !== value) : [...list, value];
}
