// Field numbers of the ONNX protobuf messages (onnx.proto) that Ouro's graph readers and writers walk.
// Shared by the streaming validation scan and the load-time graph rewrite (engine host).

export const MODEL_GRAPH = 7;
export const MODEL_OPSET_IMPORT = 8;
export const MODEL_FUNCTIONS = 25;
export const OPSET_DOMAIN = 1;
export const OPSET_VERSION = 2;
export const GRAPH_NODE = 1;
export const GRAPH_NAME = 2;
export const GRAPH_INITIALIZER = 5;
export const GRAPH_INPUT = 11;
export const GRAPH_OUTPUT = 12;
export const GRAPH_SPARSE_INITIALIZER = 15;
export const NODE_INPUT = 1;
export const NODE_OUTPUT = 2;
export const NODE_NAME = 3;
export const NODE_OP_TYPE = 4;
export const NODE_ATTRIBUTE = 5;
export const NODE_DOMAIN = 7;
export const ATTR_NAME = 1;
export const ATTR_F = 2;
export const ATTR_I = 3;
export const ATTR_T = 5;
export const ATTR_TYPE = 20;
/** AttributeProto.AttributeType INT. */
export const ATTR_TYPE_INT = 2;
/** AttributeProto.AttributeType FLOAT. */
export const ATTR_TYPE_FLOAT = 1;
export const ATTR_G = 6;
/** AttributeProto.AttributeType GRAPH. */
export const ATTR_TYPE_GRAPH = 5;
export const ATTR_TENSORS = 10;
export const ATTR_GRAPHS = 11;
export const ATTR_SPARSE_TENSOR = 22;
export const ATTR_SPARSE_TENSORS = 23;
export const ATTR_FLOATS = 7;
export const ATTR_INTS = 8;
/** AttributeProto.AttributeType INTS. */
export const ATTR_TYPE_INTS = 7;
export const SPARSE_VALUES = 1;
export const SPARSE_INDICES = 2;
export const FUNCTION_NODE = 7;
export const VALUE_NAME = 1;
export const VALUE_TYPE = 2;
export const TYPE_TENSOR = 1;
export const TENSOR_TYPE_ELEM = 1;
export const TENSOR_DIMS = 1;
export const TENSOR_DATA_TYPE = 2;
export const TENSOR_FLOAT_DATA = 4;
export const TENSOR_INT32_DATA = 5;
export const TENSOR_INT64_DATA = 7;
export const TENSOR_NAME = 8;
export const TENSOR_RAW_DATA = 9;
export const TENSOR_DOUBLE_DATA = 10;
export const TENSOR_EXTERNAL_DATA = 13;
export const TENSOR_DATA_LOCATION = 14;
export const ENTRY_KEY = 1;
export const ENTRY_VALUE = 2;
/** TensorProto.DataLocation.EXTERNAL. */
export const DATA_LOCATION_EXTERNAL = 1;
/** TensorProto.DataType.FLOAT. */
export const FLOAT = 1;
/** TensorProto.DataType.FLOAT16. */
export const FLOAT16 = 10;
/** TensorProto.DataType.INT32. */
export const INT32 = 6;
/** TensorProto.DataType.DOUBLE. */
export const DOUBLE = 11;
/** TensorProto.DataType.INT64. */
export const INT64 = 7;
/** TensorProto.DataType.BOOL. */
export const BOOL = 9;
