"""Copying GGUF key/value fields from a gguf-py GGUFReader to a GGUFWriter (used by the generators here)."""
from gguf import GGUFValueType


def copy_fields(reader, writer, keep):
    """Every field whose key `keep(key)` accepts, with its type (arrays of strings or numbers included)."""
    for key, field in reader.fields.items():
        if not keep(key):
            continue
        vtype = field.types[0]
        if vtype == GGUFValueType.ARRAY:
            sub = field.types[1]
            values = [bytes(field.parts[i]).decode() if sub == GGUFValueType.STRING else field.parts[i].tolist()[0] for i in field.data]
            writer.add_key_value(key, values, vtype, sub_type=sub)
        elif vtype == GGUFValueType.STRING:
            writer.add_key_value(key, bytes(field.parts[field.data[0]]).decode(), vtype)
        else:
            writer.add_key_value(key, field.parts[field.data[0]].tolist()[0], vtype)
