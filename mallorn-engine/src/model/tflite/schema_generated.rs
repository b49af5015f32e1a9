pub use root::*;

const _: () = ::planus::check_version_compatibility("planus-1.3.0");

/// The root namespace
///
/// Generated from these locations:
/// * File `schema.fbs`
#[no_implicit_prelude]
#[allow(clippy::needless_lifetimes)]
mod root {
    /// The namespace `tflite`
    ///
    /// Generated from these locations:
    /// * File `schema.fbs`
    pub mod tflite {
        /// The table `CustomQuantization` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Table `CustomQuantization` in the file `schema.fbs:16`
        #[derive(
            Clone,
            Debug,
            PartialEq,
            PartialOrd,
            Eq,
            Ord,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
        )]
        pub struct CustomQuantization {
            /// The field `custom` in the table `CustomQuantization`
            pub custom: ::core::option::Option<::planus::alloc::vec::Vec<u8>>,
        }

        #[allow(clippy::derivable_impls)]
        impl ::core::default::Default for CustomQuantization {
            fn default() -> Self {
                Self {
                    custom: ::core::default::Default::default(),
                }
            }
        }

        impl CustomQuantization {
            /// Creates a [CustomQuantizationBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> CustomQuantizationBuilder<()> {
                CustomQuantizationBuilder(())
            }

            #[allow(clippy::too_many_arguments)]
            pub fn create(
                builder: &mut ::planus::Builder,
                field_custom: impl ::planus::WriteAsOptional<::planus::Offset<[u8]>>,
            ) -> ::planus::Offset<Self> {
                let prepared_custom = field_custom.prepare(builder);

                let mut table_writer: ::planus::table_writer::TableWriter<6> =
                    ::core::default::Default::default();
                if prepared_custom.is_some() {
                    table_writer.write_entry::<::planus::Offset<[u8]>>(0);
                }

                unsafe {
                    table_writer.finish(builder, |object_writer| {
                        if let ::core::option::Option::Some(prepared_custom) = prepared_custom {
                            object_writer.write::<_, _, 4>(&prepared_custom);
                        }
                    });
                }
                builder.current_offset()
            }
        }

        impl ::planus::WriteAs<::planus::Offset<CustomQuantization>> for CustomQuantization {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<CustomQuantization> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl ::planus::WriteAsOptional<::planus::Offset<CustomQuantization>> for CustomQuantization {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<CustomQuantization>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl ::planus::WriteAsOffset<CustomQuantization> for CustomQuantization {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<CustomQuantization> {
                CustomQuantization::create(builder, &self.custom)
            }
        }

        /// Builder for serializing an instance of the [CustomQuantization] type.
        ///
        /// Can be created using the [CustomQuantization::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct CustomQuantizationBuilder<State>(State);

        impl CustomQuantizationBuilder<()> {
            /// Setter for the [`custom` field](CustomQuantization#structfield.custom).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn custom<T0>(self, value: T0) -> CustomQuantizationBuilder<(T0,)>
            where
                T0: ::planus::WriteAsOptional<::planus::Offset<[u8]>>,
            {
                CustomQuantizationBuilder((value,))
            }

            /// Sets the [`custom` field](CustomQuantization#structfield.custom) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn custom_as_null(self) -> CustomQuantizationBuilder<((),)> {
                self.custom(())
            }
        }

        impl<T0> CustomQuantizationBuilder<(T0,)> {
            /// Finish writing the builder to get an [Offset](::planus::Offset) to a serialized [CustomQuantization].
            #[inline]
            pub fn finish(
                self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<CustomQuantization>
            where
                Self: ::planus::WriteAsOffset<CustomQuantization>,
            {
                ::planus::WriteAsOffset::prepare(&self, builder)
            }
        }

        impl<T0: ::planus::WriteAsOptional<::planus::Offset<[u8]>>>
            ::planus::WriteAs<::planus::Offset<CustomQuantization>>
            for CustomQuantizationBuilder<(T0,)>
        {
            type Prepared = ::planus::Offset<CustomQuantization>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<CustomQuantization> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl<T0: ::planus::WriteAsOptional<::planus::Offset<[u8]>>>
            ::planus::WriteAsOptional<::planus::Offset<CustomQuantization>>
            for CustomQuantizationBuilder<(T0,)>
        {
            type Prepared = ::planus::Offset<CustomQuantization>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<CustomQuantization>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl<T0: ::planus::WriteAsOptional<::planus::Offset<[u8]>>>
            ::planus::WriteAsOffset<CustomQuantization> for CustomQuantizationBuilder<(T0,)>
        {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<CustomQuantization> {
                let (v0,) = &self.0;
                CustomQuantization::create(builder, v0)
            }
        }

        /// Reference to a deserialized [CustomQuantization].
        #[derive(Copy, Clone)]
        pub struct CustomQuantizationRef<'a>(#[allow(dead_code)] ::planus::table_reader::Table<'a>);

        impl<'a> CustomQuantizationRef<'a> {
            /// Getter for the [`custom` field](CustomQuantization#structfield.custom).
            #[inline]
            pub fn custom(&self) -> ::planus::Result<::core::option::Option<&'a [u8]>> {
                self.0.access(0, "CustomQuantization", "custom")
            }
        }

        impl<'a> ::core::fmt::Debug for CustomQuantizationRef<'a> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut f = f.debug_struct("CustomQuantizationRef");
                if let ::core::option::Option::Some(field_custom) = self.custom().transpose() {
                    f.field("custom", &field_custom);
                }
                f.finish()
            }
        }

        impl<'a> ::core::convert::TryFrom<CustomQuantizationRef<'a>> for CustomQuantization {
            type Error = ::planus::Error;

            #[allow(unreachable_code)]
            fn try_from(value: CustomQuantizationRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(Self {
                    custom: value.custom()?.map(|v| v.to_vec()),
                })
            }
        }

        impl<'a> ::planus::TableRead<'a> for CustomQuantizationRef<'a> {
            #[inline]
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                ::core::result::Result::Ok(Self(::planus::table_reader::Table::from_buffer(
                    buffer, offset,
                )?))
            }
        }

        impl<'a> ::planus::VectorReadInner<'a> for CustomQuantizationRef<'a> {
            type Error = ::planus::Error;
            const STRIDE: usize = 4;

            unsafe fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(buffer, offset).map_err(|error_kind| {
                    error_kind.with_error_location(
                        "[CustomQuantizationRef]",
                        "get",
                        buffer.offset_from_start,
                    )
                })
            }
        }

        /// # Safety
        /// The planus compiler generates implementations that initialize
        /// the bytes in `write_values`.
        unsafe impl ::planus::VectorWrite<::planus::Offset<CustomQuantization>> for CustomQuantization {
            type Value = ::planus::Offset<CustomQuantization>;
            const STRIDE: usize = 4;
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> Self::Value {
                ::planus::WriteAs::prepare(self, builder)
            }

            #[inline]
            unsafe fn write_values(
                values: &[::planus::Offset<CustomQuantization>],
                bytes: *mut ::core::mem::MaybeUninit<u8>,
                buffer_position: u32,
            ) {
                let bytes = bytes as *mut [::core::mem::MaybeUninit<u8>; 4];
                for (i, v) in ::core::iter::Iterator::enumerate(values.iter()) {
                    ::planus::WriteAsPrimitive::write(
                        v,
                        ::planus::Cursor::new(unsafe { &mut *bytes.add(i) }),
                        buffer_position - (Self::STRIDE * i) as u32,
                    );
                }
            }
        }

        impl<'a> ::planus::ReadAsRoot<'a> for CustomQuantizationRef<'a> {
            fn read_as_root(slice: &'a [u8]) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(
                    ::planus::SliceWithStartOffset {
                        buffer: slice,
                        offset_from_start: 0,
                    },
                    0,
                )
                .map_err(|error_kind| {
                    error_kind.with_error_location("[CustomQuantizationRef]", "read_as_root", 0)
                })
            }
        }

        /// The table `BlockwiseQuantization` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Table `BlockwiseQuantization` in the file `schema.fbs:20`
        #[derive(
            Clone,
            Debug,
            PartialEq,
            PartialOrd,
            Eq,
            Ord,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
        )]
        pub struct BlockwiseQuantization {
            /// The field `scales` in the table `BlockwiseQuantization`
            pub scales: i32,
            /// The field `zero_points` in the table `BlockwiseQuantization`
            pub zero_points: i32,
            /// The field `block_size` in the table `BlockwiseQuantization`
            pub block_size: i32,
        }

        #[allow(clippy::derivable_impls)]
        impl ::core::default::Default for BlockwiseQuantization {
            fn default() -> Self {
                Self {
                    scales: 0,
                    zero_points: 0,
                    block_size: 0,
                }
            }
        }

        impl BlockwiseQuantization {
            /// Creates a [BlockwiseQuantizationBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> BlockwiseQuantizationBuilder<()> {
                BlockwiseQuantizationBuilder(())
            }

            #[allow(clippy::too_many_arguments)]
            pub fn create(
                builder: &mut ::planus::Builder,
                field_scales: impl ::planus::WriteAsDefault<i32, i32>,
                field_zero_points: impl ::planus::WriteAsDefault<i32, i32>,
                field_block_size: impl ::planus::WriteAsDefault<i32, i32>,
            ) -> ::planus::Offset<Self> {
                let prepared_scales = field_scales.prepare(builder, &0);
                let prepared_zero_points = field_zero_points.prepare(builder, &0);
                let prepared_block_size = field_block_size.prepare(builder, &0);

                let mut table_writer: ::planus::table_writer::TableWriter<10> =
                    ::core::default::Default::default();
                if prepared_scales.is_some() {
                    table_writer.write_entry::<i32>(0);
                }
                if prepared_zero_points.is_some() {
                    table_writer.write_entry::<i32>(1);
                }
                if prepared_block_size.is_some() {
                    table_writer.write_entry::<i32>(2);
                }

                unsafe {
                    table_writer.finish(builder, |object_writer| {
                        if let ::core::option::Option::Some(prepared_scales) = prepared_scales {
                            object_writer.write::<_, _, 4>(&prepared_scales);
                        }
                        if let ::core::option::Option::Some(prepared_zero_points) =
                            prepared_zero_points
                        {
                            object_writer.write::<_, _, 4>(&prepared_zero_points);
                        }
                        if let ::core::option::Option::Some(prepared_block_size) =
                            prepared_block_size
                        {
                            object_writer.write::<_, _, 4>(&prepared_block_size);
                        }
                    });
                }
                builder.current_offset()
            }
        }

        impl ::planus::WriteAs<::planus::Offset<BlockwiseQuantization>> for BlockwiseQuantization {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<BlockwiseQuantization> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl ::planus::WriteAsOptional<::planus::Offset<BlockwiseQuantization>> for BlockwiseQuantization {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<BlockwiseQuantization>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl ::planus::WriteAsOffset<BlockwiseQuantization> for BlockwiseQuantization {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<BlockwiseQuantization> {
                BlockwiseQuantization::create(
                    builder,
                    self.scales,
                    self.zero_points,
                    self.block_size,
                )
            }
        }

        /// Builder for serializing an instance of the [BlockwiseQuantization] type.
        ///
        /// Can be created using the [BlockwiseQuantization::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct BlockwiseQuantizationBuilder<State>(State);

        impl BlockwiseQuantizationBuilder<()> {
            /// Setter for the [`scales` field](BlockwiseQuantization#structfield.scales).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn scales<T0>(self, value: T0) -> BlockwiseQuantizationBuilder<(T0,)>
            where
                T0: ::planus::WriteAsDefault<i32, i32>,
            {
                BlockwiseQuantizationBuilder((value,))
            }

            /// Sets the [`scales` field](BlockwiseQuantization#structfield.scales) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn scales_as_default(
                self,
            ) -> BlockwiseQuantizationBuilder<(::planus::DefaultValue,)> {
                self.scales(::planus::DefaultValue)
            }
        }

        impl<T0> BlockwiseQuantizationBuilder<(T0,)> {
            /// Setter for the [`zero_points` field](BlockwiseQuantization#structfield.zero_points).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn zero_points<T1>(self, value: T1) -> BlockwiseQuantizationBuilder<(T0, T1)>
            where
                T1: ::planus::WriteAsDefault<i32, i32>,
            {
                let (v0,) = self.0;
                BlockwiseQuantizationBuilder((v0, value))
            }

            /// Sets the [`zero_points` field](BlockwiseQuantization#structfield.zero_points) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn zero_points_as_default(
                self,
            ) -> BlockwiseQuantizationBuilder<(T0, ::planus::DefaultValue)> {
                self.zero_points(::planus::DefaultValue)
            }
        }

        impl<T0, T1> BlockwiseQuantizationBuilder<(T0, T1)> {
            /// Setter for the [`block_size` field](BlockwiseQuantization#structfield.block_size).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn block_size<T2>(self, value: T2) -> BlockwiseQuantizationBuilder<(T0, T1, T2)>
            where
                T2: ::planus::WriteAsDefault<i32, i32>,
            {
                let (v0, v1) = self.0;
                BlockwiseQuantizationBuilder((v0, v1, value))
            }

            /// Sets the [`block_size` field](BlockwiseQuantization#structfield.block_size) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn block_size_as_default(
                self,
            ) -> BlockwiseQuantizationBuilder<(T0, T1, ::planus::DefaultValue)> {
                self.block_size(::planus::DefaultValue)
            }
        }

        impl<T0, T1, T2> BlockwiseQuantizationBuilder<(T0, T1, T2)> {
            /// Finish writing the builder to get an [Offset](::planus::Offset) to a serialized [BlockwiseQuantization].
            #[inline]
            pub fn finish(
                self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<BlockwiseQuantization>
            where
                Self: ::planus::WriteAsOffset<BlockwiseQuantization>,
            {
                ::planus::WriteAsOffset::prepare(&self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsDefault<i32, i32>,
                T1: ::planus::WriteAsDefault<i32, i32>,
                T2: ::planus::WriteAsDefault<i32, i32>,
            > ::planus::WriteAs<::planus::Offset<BlockwiseQuantization>>
            for BlockwiseQuantizationBuilder<(T0, T1, T2)>
        {
            type Prepared = ::planus::Offset<BlockwiseQuantization>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<BlockwiseQuantization> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsDefault<i32, i32>,
                T1: ::planus::WriteAsDefault<i32, i32>,
                T2: ::planus::WriteAsDefault<i32, i32>,
            > ::planus::WriteAsOptional<::planus::Offset<BlockwiseQuantization>>
            for BlockwiseQuantizationBuilder<(T0, T1, T2)>
        {
            type Prepared = ::planus::Offset<BlockwiseQuantization>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<BlockwiseQuantization>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl<
                T0: ::planus::WriteAsDefault<i32, i32>,
                T1: ::planus::WriteAsDefault<i32, i32>,
                T2: ::planus::WriteAsDefault<i32, i32>,
            > ::planus::WriteAsOffset<BlockwiseQuantization>
            for BlockwiseQuantizationBuilder<(T0, T1, T2)>
        {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<BlockwiseQuantization> {
                let (v0, v1, v2) = &self.0;
                BlockwiseQuantization::create(builder, v0, v1, v2)
            }
        }

        /// Reference to a deserialized [BlockwiseQuantization].
        #[derive(Copy, Clone)]
        pub struct BlockwiseQuantizationRef<'a>(
            #[allow(dead_code)] ::planus::table_reader::Table<'a>,
        );

        impl<'a> BlockwiseQuantizationRef<'a> {
            /// Getter for the [`scales` field](BlockwiseQuantization#structfield.scales).
            #[inline]
            pub fn scales(&self) -> ::planus::Result<i32> {
                ::core::result::Result::Ok(
                    self.0
                        .access(0, "BlockwiseQuantization", "scales")?
                        .unwrap_or(0),
                )
            }

            /// Getter for the [`zero_points` field](BlockwiseQuantization#structfield.zero_points).
            #[inline]
            pub fn zero_points(&self) -> ::planus::Result<i32> {
                ::core::result::Result::Ok(
                    self.0
                        .access(1, "BlockwiseQuantization", "zero_points")?
                        .unwrap_or(0),
                )
            }

            /// Getter for the [`block_size` field](BlockwiseQuantization#structfield.block_size).
            #[inline]
            pub fn block_size(&self) -> ::planus::Result<i32> {
                ::core::result::Result::Ok(
                    self.0
                        .access(2, "BlockwiseQuantization", "block_size")?
                        .unwrap_or(0),
                )
            }
        }

        impl<'a> ::core::fmt::Debug for BlockwiseQuantizationRef<'a> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut f = f.debug_struct("BlockwiseQuantizationRef");
                f.field("scales", &self.scales());
                f.field("zero_points", &self.zero_points());
                f.field("block_size", &self.block_size());
                f.finish()
            }
        }

        impl<'a> ::core::convert::TryFrom<BlockwiseQuantizationRef<'a>> for BlockwiseQuantization {
            type Error = ::planus::Error;

            #[allow(unreachable_code)]
            fn try_from(value: BlockwiseQuantizationRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(Self {
                    scales: ::core::convert::TryInto::try_into(value.scales()?)?,
                    zero_points: ::core::convert::TryInto::try_into(value.zero_points()?)?,
                    block_size: ::core::convert::TryInto::try_into(value.block_size()?)?,
                })
            }
        }

        impl<'a> ::planus::TableRead<'a> for BlockwiseQuantizationRef<'a> {
            #[inline]
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                ::core::result::Result::Ok(Self(::planus::table_reader::Table::from_buffer(
                    buffer, offset,
                )?))
            }
        }

        impl<'a> ::planus::VectorReadInner<'a> for BlockwiseQuantizationRef<'a> {
            type Error = ::planus::Error;
            const STRIDE: usize = 4;

            unsafe fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(buffer, offset).map_err(|error_kind| {
                    error_kind.with_error_location(
                        "[BlockwiseQuantizationRef]",
                        "get",
                        buffer.offset_from_start,
                    )
                })
            }
        }

        /// # Safety
        /// The planus compiler generates implementations that initialize
        /// the bytes in `write_values`.
        unsafe impl ::planus::VectorWrite<::planus::Offset<BlockwiseQuantization>>
            for BlockwiseQuantization
        {
            type Value = ::planus::Offset<BlockwiseQuantization>;
            const STRIDE: usize = 4;
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> Self::Value {
                ::planus::WriteAs::prepare(self, builder)
            }

            #[inline]
            unsafe fn write_values(
                values: &[::planus::Offset<BlockwiseQuantization>],
                bytes: *mut ::core::mem::MaybeUninit<u8>,
                buffer_position: u32,
            ) {
                let bytes = bytes as *mut [::core::mem::MaybeUninit<u8>; 4];
                for (i, v) in ::core::iter::Iterator::enumerate(values.iter()) {
                    ::planus::WriteAsPrimitive::write(
                        v,
                        ::planus::Cursor::new(unsafe { &mut *bytes.add(i) }),
                        buffer_position - (Self::STRIDE * i) as u32,
                    );
                }
            }
        }

        impl<'a> ::planus::ReadAsRoot<'a> for BlockwiseQuantizationRef<'a> {
            fn read_as_root(slice: &'a [u8]) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(
                    ::planus::SliceWithStartOffset {
                        buffer: slice,
                        offset_from_start: 0,
                    },
                    0,
                )
                .map_err(|error_kind| {
                    error_kind.with_error_location("[BlockwiseQuantizationRef]", "read_as_root", 0)
                })
            }
        }

        /// The table `MultiAxisQuantization` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Table `MultiAxisQuantization` in the file `schema.fbs:26`
        #[derive(
            Clone,
            Debug,
            PartialEq,
            PartialOrd,
            Eq,
            Ord,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
        )]
        pub struct MultiAxisQuantization {
            /// The field `scales` in the table `MultiAxisQuantization`
            pub scales: i32,
            /// The field `zero_points` in the table `MultiAxisQuantization`
            pub zero_points: i32,
            /// The field `block_size` in the table `MultiAxisQuantization`
            pub block_size: i32,
            /// The field `quantized_dimensions` in the table `MultiAxisQuantization`
            pub quantized_dimensions: ::core::option::Option<::planus::alloc::vec::Vec<i32>>,
        }

        #[allow(clippy::derivable_impls)]
        impl ::core::default::Default for MultiAxisQuantization {
            fn default() -> Self {
                Self {
                    scales: 0,
                    zero_points: 0,
                    block_size: 0,
                    quantized_dimensions: ::core::default::Default::default(),
                }
            }
        }

        impl MultiAxisQuantization {
            /// Creates a [MultiAxisQuantizationBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> MultiAxisQuantizationBuilder<()> {
                MultiAxisQuantizationBuilder(())
            }

            #[allow(clippy::too_many_arguments)]
            pub fn create(
                builder: &mut ::planus::Builder,
                field_scales: impl ::planus::WriteAsDefault<i32, i32>,
                field_zero_points: impl ::planus::WriteAsDefault<i32, i32>,
                field_block_size: impl ::planus::WriteAsDefault<i32, i32>,
                field_quantized_dimensions: impl ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
            ) -> ::planus::Offset<Self> {
                let prepared_scales = field_scales.prepare(builder, &0);
                let prepared_zero_points = field_zero_points.prepare(builder, &0);
                let prepared_block_size = field_block_size.prepare(builder, &0);
                let prepared_quantized_dimensions = field_quantized_dimensions.prepare(builder);

                let mut table_writer: ::planus::table_writer::TableWriter<12> =
                    ::core::default::Default::default();
                if prepared_scales.is_some() {
                    table_writer.write_entry::<i32>(0);
                }
                if prepared_zero_points.is_some() {
                    table_writer.write_entry::<i32>(1);
                }
                if prepared_block_size.is_some() {
                    table_writer.write_entry::<i32>(2);
                }
                if prepared_quantized_dimensions.is_some() {
                    table_writer.write_entry::<::planus::Offset<[i32]>>(3);
                }

                unsafe {
                    table_writer.finish(builder, |object_writer| {
                        if let ::core::option::Option::Some(prepared_scales) = prepared_scales {
                            object_writer.write::<_, _, 4>(&prepared_scales);
                        }
                        if let ::core::option::Option::Some(prepared_zero_points) =
                            prepared_zero_points
                        {
                            object_writer.write::<_, _, 4>(&prepared_zero_points);
                        }
                        if let ::core::option::Option::Some(prepared_block_size) =
                            prepared_block_size
                        {
                            object_writer.write::<_, _, 4>(&prepared_block_size);
                        }
                        if let ::core::option::Option::Some(prepared_quantized_dimensions) =
                            prepared_quantized_dimensions
                        {
                            object_writer.write::<_, _, 4>(&prepared_quantized_dimensions);
                        }
                    });
                }
                builder.current_offset()
            }
        }

        impl ::planus::WriteAs<::planus::Offset<MultiAxisQuantization>> for MultiAxisQuantization {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<MultiAxisQuantization> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl ::planus::WriteAsOptional<::planus::Offset<MultiAxisQuantization>> for MultiAxisQuantization {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<MultiAxisQuantization>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl ::planus::WriteAsOffset<MultiAxisQuantization> for MultiAxisQuantization {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<MultiAxisQuantization> {
                MultiAxisQuantization::create(
                    builder,
                    self.scales,
                    self.zero_points,
                    self.block_size,
                    &self.quantized_dimensions,
                )
            }
        }

        /// Builder for serializing an instance of the [MultiAxisQuantization] type.
        ///
        /// Can be created using the [MultiAxisQuantization::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct MultiAxisQuantizationBuilder<State>(State);

        impl MultiAxisQuantizationBuilder<()> {
            /// Setter for the [`scales` field](MultiAxisQuantization#structfield.scales).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn scales<T0>(self, value: T0) -> MultiAxisQuantizationBuilder<(T0,)>
            where
                T0: ::planus::WriteAsDefault<i32, i32>,
            {
                MultiAxisQuantizationBuilder((value,))
            }

            /// Sets the [`scales` field](MultiAxisQuantization#structfield.scales) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn scales_as_default(
                self,
            ) -> MultiAxisQuantizationBuilder<(::planus::DefaultValue,)> {
                self.scales(::planus::DefaultValue)
            }
        }

        impl<T0> MultiAxisQuantizationBuilder<(T0,)> {
            /// Setter for the [`zero_points` field](MultiAxisQuantization#structfield.zero_points).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn zero_points<T1>(self, value: T1) -> MultiAxisQuantizationBuilder<(T0, T1)>
            where
                T1: ::planus::WriteAsDefault<i32, i32>,
            {
                let (v0,) = self.0;
                MultiAxisQuantizationBuilder((v0, value))
            }

            /// Sets the [`zero_points` field](MultiAxisQuantization#structfield.zero_points) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn zero_points_as_default(
                self,
            ) -> MultiAxisQuantizationBuilder<(T0, ::planus::DefaultValue)> {
                self.zero_points(::planus::DefaultValue)
            }
        }

        impl<T0, T1> MultiAxisQuantizationBuilder<(T0, T1)> {
            /// Setter for the [`block_size` field](MultiAxisQuantization#structfield.block_size).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn block_size<T2>(self, value: T2) -> MultiAxisQuantizationBuilder<(T0, T1, T2)>
            where
                T2: ::planus::WriteAsDefault<i32, i32>,
            {
                let (v0, v1) = self.0;
                MultiAxisQuantizationBuilder((v0, v1, value))
            }

            /// Sets the [`block_size` field](MultiAxisQuantization#structfield.block_size) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn block_size_as_default(
                self,
            ) -> MultiAxisQuantizationBuilder<(T0, T1, ::planus::DefaultValue)> {
                self.block_size(::planus::DefaultValue)
            }
        }

        impl<T0, T1, T2> MultiAxisQuantizationBuilder<(T0, T1, T2)> {
            /// Setter for the [`quantized_dimensions` field](MultiAxisQuantization#structfield.quantized_dimensions).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn quantized_dimensions<T3>(
                self,
                value: T3,
            ) -> MultiAxisQuantizationBuilder<(T0, T1, T2, T3)>
            where
                T3: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
            {
                let (v0, v1, v2) = self.0;
                MultiAxisQuantizationBuilder((v0, v1, v2, value))
            }

            /// Sets the [`quantized_dimensions` field](MultiAxisQuantization#structfield.quantized_dimensions) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn quantized_dimensions_as_null(
                self,
            ) -> MultiAxisQuantizationBuilder<(T0, T1, T2, ())> {
                self.quantized_dimensions(())
            }
        }

        impl<T0, T1, T2, T3> MultiAxisQuantizationBuilder<(T0, T1, T2, T3)> {
            /// Finish writing the builder to get an [Offset](::planus::Offset) to a serialized [MultiAxisQuantization].
            #[inline]
            pub fn finish(
                self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<MultiAxisQuantization>
            where
                Self: ::planus::WriteAsOffset<MultiAxisQuantization>,
            {
                ::planus::WriteAsOffset::prepare(&self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsDefault<i32, i32>,
                T1: ::planus::WriteAsDefault<i32, i32>,
                T2: ::planus::WriteAsDefault<i32, i32>,
                T3: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
            > ::planus::WriteAs<::planus::Offset<MultiAxisQuantization>>
            for MultiAxisQuantizationBuilder<(T0, T1, T2, T3)>
        {
            type Prepared = ::planus::Offset<MultiAxisQuantization>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<MultiAxisQuantization> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsDefault<i32, i32>,
                T1: ::planus::WriteAsDefault<i32, i32>,
                T2: ::planus::WriteAsDefault<i32, i32>,
                T3: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
            > ::planus::WriteAsOptional<::planus::Offset<MultiAxisQuantization>>
            for MultiAxisQuantizationBuilder<(T0, T1, T2, T3)>
        {
            type Prepared = ::planus::Offset<MultiAxisQuantization>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<MultiAxisQuantization>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl<
                T0: ::planus::WriteAsDefault<i32, i32>,
                T1: ::planus::WriteAsDefault<i32, i32>,
                T2: ::planus::WriteAsDefault<i32, i32>,
                T3: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
            > ::planus::WriteAsOffset<MultiAxisQuantization>
            for MultiAxisQuantizationBuilder<(T0, T1, T2, T3)>
        {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<MultiAxisQuantization> {
                let (v0, v1, v2, v3) = &self.0;
                MultiAxisQuantization::create(builder, v0, v1, v2, v3)
            }
        }

        /// Reference to a deserialized [MultiAxisQuantization].
        #[derive(Copy, Clone)]
        pub struct MultiAxisQuantizationRef<'a>(
            #[allow(dead_code)] ::planus::table_reader::Table<'a>,
        );

        impl<'a> MultiAxisQuantizationRef<'a> {
            /// Getter for the [`scales` field](MultiAxisQuantization#structfield.scales).
            #[inline]
            pub fn scales(&self) -> ::planus::Result<i32> {
                ::core::result::Result::Ok(
                    self.0
                        .access(0, "MultiAxisQuantization", "scales")?
                        .unwrap_or(0),
                )
            }

            /// Getter for the [`zero_points` field](MultiAxisQuantization#structfield.zero_points).
            #[inline]
            pub fn zero_points(&self) -> ::planus::Result<i32> {
                ::core::result::Result::Ok(
                    self.0
                        .access(1, "MultiAxisQuantization", "zero_points")?
                        .unwrap_or(0),
                )
            }

            /// Getter for the [`block_size` field](MultiAxisQuantization#structfield.block_size).
            #[inline]
            pub fn block_size(&self) -> ::planus::Result<i32> {
                ::core::result::Result::Ok(
                    self.0
                        .access(2, "MultiAxisQuantization", "block_size")?
                        .unwrap_or(0),
                )
            }

            /// Getter for the [`quantized_dimensions` field](MultiAxisQuantization#structfield.quantized_dimensions).
            #[inline]
            pub fn quantized_dimensions(
                &self,
            ) -> ::planus::Result<::core::option::Option<::planus::Vector<'a, i32>>> {
                self.0
                    .access(3, "MultiAxisQuantization", "quantized_dimensions")
            }
        }

        impl<'a> ::core::fmt::Debug for MultiAxisQuantizationRef<'a> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut f = f.debug_struct("MultiAxisQuantizationRef");
                f.field("scales", &self.scales());
                f.field("zero_points", &self.zero_points());
                f.field("block_size", &self.block_size());
                if let ::core::option::Option::Some(field_quantized_dimensions) =
                    self.quantized_dimensions().transpose()
                {
                    f.field("quantized_dimensions", &field_quantized_dimensions);
                }
                f.finish()
            }
        }

        impl<'a> ::core::convert::TryFrom<MultiAxisQuantizationRef<'a>> for MultiAxisQuantization {
            type Error = ::planus::Error;

            #[allow(unreachable_code)]
            fn try_from(value: MultiAxisQuantizationRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(Self {
                    scales: ::core::convert::TryInto::try_into(value.scales()?)?,
                    zero_points: ::core::convert::TryInto::try_into(value.zero_points()?)?,
                    block_size: ::core::convert::TryInto::try_into(value.block_size()?)?,
                    quantized_dimensions: if let ::core::option::Option::Some(
                        quantized_dimensions,
                    ) = value.quantized_dimensions()?
                    {
                        ::core::option::Option::Some(quantized_dimensions.to_vec()?)
                    } else {
                        ::core::option::Option::None
                    },
                })
            }
        }

        impl<'a> ::planus::TableRead<'a> for MultiAxisQuantizationRef<'a> {
            #[inline]
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                ::core::result::Result::Ok(Self(::planus::table_reader::Table::from_buffer(
                    buffer, offset,
                )?))
            }
        }

        impl<'a> ::planus::VectorReadInner<'a> for MultiAxisQuantizationRef<'a> {
            type Error = ::planus::Error;
            const STRIDE: usize = 4;

            unsafe fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(buffer, offset).map_err(|error_kind| {
                    error_kind.with_error_location(
                        "[MultiAxisQuantizationRef]",
                        "get",
                        buffer.offset_from_start,
                    )
                })
            }
        }

        /// # Safety
        /// The planus compiler generates implementations that initialize
        /// the bytes in `write_values`.
        unsafe impl ::planus::VectorWrite<::planus::Offset<MultiAxisQuantization>>
            for MultiAxisQuantization
        {
            type Value = ::planus::Offset<MultiAxisQuantization>;
            const STRIDE: usize = 4;
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> Self::Value {
                ::planus::WriteAs::prepare(self, builder)
            }

            #[inline]
            unsafe fn write_values(
                values: &[::planus::Offset<MultiAxisQuantization>],
                bytes: *mut ::core::mem::MaybeUninit<u8>,
                buffer_position: u32,
            ) {
                let bytes = bytes as *mut [::core::mem::MaybeUninit<u8>; 4];
                for (i, v) in ::core::iter::Iterator::enumerate(values.iter()) {
                    ::planus::WriteAsPrimitive::write(
                        v,
                        ::planus::Cursor::new(unsafe { &mut *bytes.add(i) }),
                        buffer_position - (Self::STRIDE * i) as u32,
                    );
                }
            }
        }

        impl<'a> ::planus::ReadAsRoot<'a> for MultiAxisQuantizationRef<'a> {
            fn read_as_root(slice: &'a [u8]) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(
                    ::planus::SliceWithStartOffset {
                        buffer: slice,
                        offset_from_start: 0,
                    },
                    0,
                )
                .map_err(|error_kind| {
                    error_kind.with_error_location("[MultiAxisQuantizationRef]", "read_as_root", 0)
                })
            }
        }

        /// The union `QuantizationDetails` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Union `QuantizationDetails` in the file `schema.fbs:33`
        #[derive(
            Clone,
            Debug,
            PartialEq,
            PartialOrd,
            Eq,
            Ord,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
        )]
        pub enum QuantizationDetails {
            /// The variant of type `CustomQuantization` in the union `QuantizationDetails`
            CustomQuantization(::planus::alloc::boxed::Box<self::CustomQuantization>),

            /// The variant of type `BlockwiseQuantization` in the union `QuantizationDetails`
            BlockwiseQuantization(::planus::alloc::boxed::Box<self::BlockwiseQuantization>),

            /// The variant of type `MultiAxisQuantization` in the union `QuantizationDetails`
            MultiAxisQuantization(::planus::alloc::boxed::Box<self::MultiAxisQuantization>),
        }

        impl QuantizationDetails {
            /// Creates a [QuantizationDetailsBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> QuantizationDetailsBuilder<::planus::Uninitialized> {
                QuantizationDetailsBuilder(::planus::Uninitialized)
            }

            #[inline]
            pub fn create_custom_quantization(
                builder: &mut ::planus::Builder,
                value: impl ::planus::WriteAsOffset<self::CustomQuantization>,
            ) -> ::planus::UnionOffset<Self> {
                ::planus::UnionOffset::new(1, value.prepare(builder).downcast())
            }

            #[inline]
            pub fn create_blockwise_quantization(
                builder: &mut ::planus::Builder,
                value: impl ::planus::WriteAsOffset<self::BlockwiseQuantization>,
            ) -> ::planus::UnionOffset<Self> {
                ::planus::UnionOffset::new(2, value.prepare(builder).downcast())
            }

            #[inline]
            pub fn create_multi_axis_quantization(
                builder: &mut ::planus::Builder,
                value: impl ::planus::WriteAsOffset<self::MultiAxisQuantization>,
            ) -> ::planus::UnionOffset<Self> {
                ::planus::UnionOffset::new(3, value.prepare(builder).downcast())
            }
        }

        impl ::planus::WriteAsUnion<QuantizationDetails> for QuantizationDetails {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::UnionOffset<Self> {
                match self {
                    Self::CustomQuantization(value) => {
                        Self::create_custom_quantization(builder, value)
                    }
                    Self::BlockwiseQuantization(value) => {
                        Self::create_blockwise_quantization(builder, value)
                    }
                    Self::MultiAxisQuantization(value) => {
                        Self::create_multi_axis_quantization(builder, value)
                    }
                }
            }
        }

        impl ::planus::WriteAsOptionalUnion<QuantizationDetails> for QuantizationDetails {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::UnionOffset<Self>> {
                ::core::option::Option::Some(::planus::WriteAsUnion::prepare(self, builder))
            }
        }

        /// Builder for serializing an instance of the [QuantizationDetails] type.
        ///
        /// Can be created using the [QuantizationDetails::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct QuantizationDetailsBuilder<T>(T);

        impl QuantizationDetailsBuilder<::planus::Uninitialized> {
            /// Creates an instance of the [`CustomQuantization` variant](QuantizationDetails#variant.CustomQuantization).
            #[inline]
            pub fn custom_quantization<T>(
                self,
                value: T,
            ) -> QuantizationDetailsBuilder<::planus::Initialized<1, T>>
            where
                T: ::planus::WriteAsOffset<self::CustomQuantization>,
            {
                QuantizationDetailsBuilder(::planus::Initialized(value))
            }

            /// Creates an instance of the [`BlockwiseQuantization` variant](QuantizationDetails#variant.BlockwiseQuantization).
            #[inline]
            pub fn blockwise_quantization<T>(
                self,
                value: T,
            ) -> QuantizationDetailsBuilder<::planus::Initialized<2, T>>
            where
                T: ::planus::WriteAsOffset<self::BlockwiseQuantization>,
            {
                QuantizationDetailsBuilder(::planus::Initialized(value))
            }

            /// Creates an instance of the [`MultiAxisQuantization` variant](QuantizationDetails#variant.MultiAxisQuantization).
            #[inline]
            pub fn multi_axis_quantization<T>(
                self,
                value: T,
            ) -> QuantizationDetailsBuilder<::planus::Initialized<3, T>>
            where
                T: ::planus::WriteAsOffset<self::MultiAxisQuantization>,
            {
                QuantizationDetailsBuilder(::planus::Initialized(value))
            }
        }

        impl<const N: u8, T> QuantizationDetailsBuilder<::planus::Initialized<N, T>> {
            /// Finish writing the builder to get an [UnionOffset](::planus::UnionOffset) to a serialized [QuantizationDetails].
            #[inline]
            pub fn finish(
                self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::UnionOffset<QuantizationDetails>
            where
                Self: ::planus::WriteAsUnion<QuantizationDetails>,
            {
                ::planus::WriteAsUnion::prepare(&self, builder)
            }
        }

        impl<T> ::planus::WriteAsUnion<QuantizationDetails>
            for QuantizationDetailsBuilder<::planus::Initialized<1, T>>
        where
            T: ::planus::WriteAsOffset<self::CustomQuantization>,
        {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::UnionOffset<QuantizationDetails> {
                ::planus::UnionOffset::new(1, (self.0).0.prepare(builder).downcast())
            }
        }

        impl<T> ::planus::WriteAsOptionalUnion<QuantizationDetails>
            for QuantizationDetailsBuilder<::planus::Initialized<1, T>>
        where
            T: ::planus::WriteAsOffset<self::CustomQuantization>,
        {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::UnionOffset<QuantizationDetails>> {
                ::core::option::Option::Some(::planus::WriteAsUnion::prepare(self, builder))
            }
        }
        impl<T> ::planus::WriteAsUnion<QuantizationDetails>
            for QuantizationDetailsBuilder<::planus::Initialized<2, T>>
        where
            T: ::planus::WriteAsOffset<self::BlockwiseQuantization>,
        {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::UnionOffset<QuantizationDetails> {
                ::planus::UnionOffset::new(2, (self.0).0.prepare(builder).downcast())
            }
        }

        impl<T> ::planus::WriteAsOptionalUnion<QuantizationDetails>
            for QuantizationDetailsBuilder<::planus::Initialized<2, T>>
        where
            T: ::planus::WriteAsOffset<self::BlockwiseQuantization>,
        {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::UnionOffset<QuantizationDetails>> {
                ::core::option::Option::Some(::planus::WriteAsUnion::prepare(self, builder))
            }
        }
        impl<T> ::planus::WriteAsUnion<QuantizationDetails>
            for QuantizationDetailsBuilder<::planus::Initialized<3, T>>
        where
            T: ::planus::WriteAsOffset<self::MultiAxisQuantization>,
        {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::UnionOffset<QuantizationDetails> {
                ::planus::UnionOffset::new(3, (self.0).0.prepare(builder).downcast())
            }
        }

        impl<T> ::planus::WriteAsOptionalUnion<QuantizationDetails>
            for QuantizationDetailsBuilder<::planus::Initialized<3, T>>
        where
            T: ::planus::WriteAsOffset<self::MultiAxisQuantization>,
        {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::UnionOffset<QuantizationDetails>> {
                ::core::option::Option::Some(::planus::WriteAsUnion::prepare(self, builder))
            }
        }

        /// Reference to a deserialized [QuantizationDetails].
        #[derive(Copy, Clone, Debug)]
        pub enum QuantizationDetailsRef<'a> {
            CustomQuantization(self::CustomQuantizationRef<'a>),
            BlockwiseQuantization(self::BlockwiseQuantizationRef<'a>),
            MultiAxisQuantization(self::MultiAxisQuantizationRef<'a>),
        }

        impl<'a> ::core::convert::TryFrom<QuantizationDetailsRef<'a>> for QuantizationDetails {
            type Error = ::planus::Error;

            fn try_from(value: QuantizationDetailsRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(match value {
                    QuantizationDetailsRef::CustomQuantization(value) => {
                        Self::CustomQuantization(::planus::alloc::boxed::Box::new(
                            ::core::convert::TryFrom::try_from(value)?,
                        ))
                    }

                    QuantizationDetailsRef::BlockwiseQuantization(value) => {
                        Self::BlockwiseQuantization(::planus::alloc::boxed::Box::new(
                            ::core::convert::TryFrom::try_from(value)?,
                        ))
                    }

                    QuantizationDetailsRef::MultiAxisQuantization(value) => {
                        Self::MultiAxisQuantization(::planus::alloc::boxed::Box::new(
                            ::core::convert::TryFrom::try_from(value)?,
                        ))
                    }
                })
            }
        }

        impl<'a> ::planus::TableReadUnion<'a> for QuantizationDetailsRef<'a> {
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                tag: u8,
                field_offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                match tag {
                    1 => ::core::result::Result::Ok(Self::CustomQuantization(
                        ::planus::TableRead::from_buffer(buffer, field_offset)?,
                    )),
                    2 => ::core::result::Result::Ok(Self::BlockwiseQuantization(
                        ::planus::TableRead::from_buffer(buffer, field_offset)?,
                    )),
                    3 => ::core::result::Result::Ok(Self::MultiAxisQuantization(
                        ::planus::TableRead::from_buffer(buffer, field_offset)?,
                    )),
                    _ => {
                        ::core::result::Result::Err(::planus::errors::ErrorKind::UnknownUnionTag {
                            tag,
                        })
                    }
                }
            }
        }

        impl<'a> ::planus::VectorReadUnion<'a> for QuantizationDetailsRef<'a> {
            const VECTOR_NAME: &'static str = "[QuantizationDetailsRef]";
        }

        /// The table `QuantizationParameters` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Table `QuantizationParameters` in the file `schema.fbs:39`
        #[derive(Clone, Debug, PartialEq, PartialOrd, ::serde::Serialize, ::serde::Deserialize)]
        pub struct QuantizationParameters {
            /// The field `min` in the table `QuantizationParameters`
            pub min: ::core::option::Option<::planus::alloc::vec::Vec<f32>>,
            /// The field `max` in the table `QuantizationParameters`
            pub max: ::core::option::Option<::planus::alloc::vec::Vec<f32>>,
            /// The field `scale` in the table `QuantizationParameters`
            pub scale: ::core::option::Option<::planus::alloc::vec::Vec<f32>>,
            /// The field `zero_point` in the table `QuantizationParameters`
            pub zero_point: ::core::option::Option<::planus::alloc::vec::Vec<i64>>,
            /// The field `details` in the table `QuantizationParameters`
            pub details: ::core::option::Option<self::QuantizationDetails>,
            /// The field `quantized_dimension` in the table `QuantizationParameters`
            pub quantized_dimension: i32,
        }

        #[allow(clippy::derivable_impls)]
        impl ::core::default::Default for QuantizationParameters {
            fn default() -> Self {
                Self {
                    min: ::core::default::Default::default(),
                    max: ::core::default::Default::default(),
                    scale: ::core::default::Default::default(),
                    zero_point: ::core::default::Default::default(),
                    details: ::core::default::Default::default(),
                    quantized_dimension: 0,
                }
            }
        }

        impl QuantizationParameters {
            /// Creates a [QuantizationParametersBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> QuantizationParametersBuilder<()> {
                QuantizationParametersBuilder(())
            }

            #[allow(clippy::too_many_arguments)]
            pub fn create(
                builder: &mut ::planus::Builder,
                field_min: impl ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
                field_max: impl ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
                field_scale: impl ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
                field_zero_point: impl ::planus::WriteAsOptional<::planus::Offset<[i64]>>,
                field_details: impl ::planus::WriteAsOptionalUnion<self::QuantizationDetails>,
                field_quantized_dimension: impl ::planus::WriteAsDefault<i32, i32>,
            ) -> ::planus::Offset<Self> {
                let prepared_min = field_min.prepare(builder);
                let prepared_max = field_max.prepare(builder);
                let prepared_scale = field_scale.prepare(builder);
                let prepared_zero_point = field_zero_point.prepare(builder);
                let prepared_details = field_details.prepare(builder);
                let prepared_quantized_dimension = field_quantized_dimension.prepare(builder, &0);

                let mut table_writer: ::planus::table_writer::TableWriter<18> =
                    ::core::default::Default::default();
                if prepared_min.is_some() {
                    table_writer.write_entry::<::planus::Offset<[f32]>>(0);
                }
                if prepared_max.is_some() {
                    table_writer.write_entry::<::planus::Offset<[f32]>>(1);
                }
                if prepared_scale.is_some() {
                    table_writer.write_entry::<::planus::Offset<[f32]>>(2);
                }
                if prepared_zero_point.is_some() {
                    table_writer.write_entry::<::planus::Offset<[i64]>>(3);
                }
                if prepared_details.is_some() {
                    table_writer.write_entry::<::planus::Offset<self::QuantizationDetails>>(5);
                }
                if prepared_quantized_dimension.is_some() {
                    table_writer.write_entry::<i32>(6);
                }
                if prepared_details.is_some() {
                    table_writer.write_entry::<u8>(4);
                }

                unsafe {
                    table_writer.finish(builder, |object_writer| {
                        if let ::core::option::Option::Some(prepared_min) = prepared_min {
                            object_writer.write::<_, _, 4>(&prepared_min);
                        }
                        if let ::core::option::Option::Some(prepared_max) = prepared_max {
                            object_writer.write::<_, _, 4>(&prepared_max);
                        }
                        if let ::core::option::Option::Some(prepared_scale) = prepared_scale {
                            object_writer.write::<_, _, 4>(&prepared_scale);
                        }
                        if let ::core::option::Option::Some(prepared_zero_point) =
                            prepared_zero_point
                        {
                            object_writer.write::<_, _, 4>(&prepared_zero_point);
                        }
                        if let ::core::option::Option::Some(prepared_details) = prepared_details {
                            object_writer.write::<_, _, 4>(&prepared_details.offset());
                        }
                        if let ::core::option::Option::Some(prepared_quantized_dimension) =
                            prepared_quantized_dimension
                        {
                            object_writer.write::<_, _, 4>(&prepared_quantized_dimension);
                        }
                        if let ::core::option::Option::Some(prepared_details) = prepared_details {
                            object_writer.write::<_, _, 1>(&prepared_details.tag());
                        }
                    });
                }
                builder.current_offset()
            }
        }

        impl ::planus::WriteAs<::planus::Offset<QuantizationParameters>> for QuantizationParameters {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<QuantizationParameters> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl ::planus::WriteAsOptional<::planus::Offset<QuantizationParameters>>
            for QuantizationParameters
        {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<QuantizationParameters>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl ::planus::WriteAsOffset<QuantizationParameters> for QuantizationParameters {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<QuantizationParameters> {
                QuantizationParameters::create(
                    builder,
                    &self.min,
                    &self.max,
                    &self.scale,
                    &self.zero_point,
                    &self.details,
                    self.quantized_dimension,
                )
            }
        }

        /// Builder for serializing an instance of the [QuantizationParameters] type.
        ///
        /// Can be created using the [QuantizationParameters::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct QuantizationParametersBuilder<State>(State);

        impl QuantizationParametersBuilder<()> {
            /// Setter for the [`min` field](QuantizationParameters#structfield.min).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn min<T0>(self, value: T0) -> QuantizationParametersBuilder<(T0,)>
            where
                T0: ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
            {
                QuantizationParametersBuilder((value,))
            }

            /// Sets the [`min` field](QuantizationParameters#structfield.min) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn min_as_null(self) -> QuantizationParametersBuilder<((),)> {
                self.min(())
            }
        }

        impl<T0> QuantizationParametersBuilder<(T0,)> {
            /// Setter for the [`max` field](QuantizationParameters#structfield.max).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn max<T1>(self, value: T1) -> QuantizationParametersBuilder<(T0, T1)>
            where
                T1: ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
            {
                let (v0,) = self.0;
                QuantizationParametersBuilder((v0, value))
            }

            /// Sets the [`max` field](QuantizationParameters#structfield.max) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn max_as_null(self) -> QuantizationParametersBuilder<(T0, ())> {
                self.max(())
            }
        }

        impl<T0, T1> QuantizationParametersBuilder<(T0, T1)> {
            /// Setter for the [`scale` field](QuantizationParameters#structfield.scale).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn scale<T2>(self, value: T2) -> QuantizationParametersBuilder<(T0, T1, T2)>
            where
                T2: ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
            {
                let (v0, v1) = self.0;
                QuantizationParametersBuilder((v0, v1, value))
            }

            /// Sets the [`scale` field](QuantizationParameters#structfield.scale) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn scale_as_null(self) -> QuantizationParametersBuilder<(T0, T1, ())> {
                self.scale(())
            }
        }

        impl<T0, T1, T2> QuantizationParametersBuilder<(T0, T1, T2)> {
            /// Setter for the [`zero_point` field](QuantizationParameters#structfield.zero_point).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn zero_point<T3>(
                self,
                value: T3,
            ) -> QuantizationParametersBuilder<(T0, T1, T2, T3)>
            where
                T3: ::planus::WriteAsOptional<::planus::Offset<[i64]>>,
            {
                let (v0, v1, v2) = self.0;
                QuantizationParametersBuilder((v0, v1, v2, value))
            }

            /// Sets the [`zero_point` field](QuantizationParameters#structfield.zero_point) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn zero_point_as_null(self) -> QuantizationParametersBuilder<(T0, T1, T2, ())> {
                self.zero_point(())
            }
        }

        impl<T0, T1, T2, T3> QuantizationParametersBuilder<(T0, T1, T2, T3)> {
            /// Setter for the [`details` field](QuantizationParameters#structfield.details).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn details<T4>(
                self,
                value: T4,
            ) -> QuantizationParametersBuilder<(T0, T1, T2, T3, T4)>
            where
                T4: ::planus::WriteAsOptionalUnion<self::QuantizationDetails>,
            {
                let (v0, v1, v2, v3) = self.0;
                QuantizationParametersBuilder((v0, v1, v2, v3, value))
            }

            /// Sets the [`details` field](QuantizationParameters#structfield.details) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn details_as_null(self) -> QuantizationParametersBuilder<(T0, T1, T2, T3, ())> {
                self.details(())
            }
        }

        impl<T0, T1, T2, T3, T4> QuantizationParametersBuilder<(T0, T1, T2, T3, T4)> {
            /// Setter for the [`quantized_dimension` field](QuantizationParameters#structfield.quantized_dimension).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn quantized_dimension<T5>(
                self,
                value: T5,
            ) -> QuantizationParametersBuilder<(T0, T1, T2, T3, T4, T5)>
            where
                T5: ::planus::WriteAsDefault<i32, i32>,
            {
                let (v0, v1, v2, v3, v4) = self.0;
                QuantizationParametersBuilder((v0, v1, v2, v3, v4, value))
            }

            /// Sets the [`quantized_dimension` field](QuantizationParameters#structfield.quantized_dimension) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn quantized_dimension_as_default(
                self,
            ) -> QuantizationParametersBuilder<(T0, T1, T2, T3, T4, ::planus::DefaultValue)>
            {
                self.quantized_dimension(::planus::DefaultValue)
            }
        }

        impl<T0, T1, T2, T3, T4, T5> QuantizationParametersBuilder<(T0, T1, T2, T3, T4, T5)> {
            /// Finish writing the builder to get an [Offset](::planus::Offset) to a serialized [QuantizationParameters].
            #[inline]
            pub fn finish(
                self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<QuantizationParameters>
            where
                Self: ::planus::WriteAsOffset<QuantizationParameters>,
            {
                ::planus::WriteAsOffset::prepare(&self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
                T1: ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
                T2: ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
                T3: ::planus::WriteAsOptional<::planus::Offset<[i64]>>,
                T4: ::planus::WriteAsOptionalUnion<self::QuantizationDetails>,
                T5: ::planus::WriteAsDefault<i32, i32>,
            > ::planus::WriteAs<::planus::Offset<QuantizationParameters>>
            for QuantizationParametersBuilder<(T0, T1, T2, T3, T4, T5)>
        {
            type Prepared = ::planus::Offset<QuantizationParameters>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<QuantizationParameters> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
                T1: ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
                T2: ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
                T3: ::planus::WriteAsOptional<::planus::Offset<[i64]>>,
                T4: ::planus::WriteAsOptionalUnion<self::QuantizationDetails>,
                T5: ::planus::WriteAsDefault<i32, i32>,
            > ::planus::WriteAsOptional<::planus::Offset<QuantizationParameters>>
            for QuantizationParametersBuilder<(T0, T1, T2, T3, T4, T5)>
        {
            type Prepared = ::planus::Offset<QuantizationParameters>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<QuantizationParameters>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
                T1: ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
                T2: ::planus::WriteAsOptional<::planus::Offset<[f32]>>,
                T3: ::planus::WriteAsOptional<::planus::Offset<[i64]>>,
                T4: ::planus::WriteAsOptionalUnion<self::QuantizationDetails>,
                T5: ::planus::WriteAsDefault<i32, i32>,
            > ::planus::WriteAsOffset<QuantizationParameters>
            for QuantizationParametersBuilder<(T0, T1, T2, T3, T4, T5)>
        {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<QuantizationParameters> {
                let (v0, v1, v2, v3, v4, v5) = &self.0;
                QuantizationParameters::create(builder, v0, v1, v2, v3, v4, v5)
            }
        }

        /// Reference to a deserialized [QuantizationParameters].
        #[derive(Copy, Clone)]
        pub struct QuantizationParametersRef<'a>(
            #[allow(dead_code)] ::planus::table_reader::Table<'a>,
        );

        impl<'a> QuantizationParametersRef<'a> {
            /// Getter for the [`min` field](QuantizationParameters#structfield.min).
            #[inline]
            pub fn min(
                &self,
            ) -> ::planus::Result<::core::option::Option<::planus::Vector<'a, f32>>> {
                self.0.access(0, "QuantizationParameters", "min")
            }

            /// Getter for the [`max` field](QuantizationParameters#structfield.max).
            #[inline]
            pub fn max(
                &self,
            ) -> ::planus::Result<::core::option::Option<::planus::Vector<'a, f32>>> {
                self.0.access(1, "QuantizationParameters", "max")
            }

            /// Getter for the [`scale` field](QuantizationParameters#structfield.scale).
            #[inline]
            pub fn scale(
                &self,
            ) -> ::planus::Result<::core::option::Option<::planus::Vector<'a, f32>>> {
                self.0.access(2, "QuantizationParameters", "scale")
            }

            /// Getter for the [`zero_point` field](QuantizationParameters#structfield.zero_point).
            #[inline]
            pub fn zero_point(
                &self,
            ) -> ::planus::Result<::core::option::Option<::planus::Vector<'a, i64>>> {
                self.0.access(3, "QuantizationParameters", "zero_point")
            }

            /// Getter for the [`details` field](QuantizationParameters#structfield.details).
            #[inline]
            pub fn details(
                &self,
            ) -> ::planus::Result<::core::option::Option<self::QuantizationDetailsRef<'a>>>
            {
                self.0.access_union(4, "QuantizationParameters", "details")
            }

            /// Getter for the [`quantized_dimension` field](QuantizationParameters#structfield.quantized_dimension).
            #[inline]
            pub fn quantized_dimension(&self) -> ::planus::Result<i32> {
                ::core::result::Result::Ok(
                    self.0
                        .access(6, "QuantizationParameters", "quantized_dimension")?
                        .unwrap_or(0),
                )
            }
        }

        impl<'a> ::core::fmt::Debug for QuantizationParametersRef<'a> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut f = f.debug_struct("QuantizationParametersRef");
                if let ::core::option::Option::Some(field_min) = self.min().transpose() {
                    f.field("min", &field_min);
                }
                if let ::core::option::Option::Some(field_max) = self.max().transpose() {
                    f.field("max", &field_max);
                }
                if let ::core::option::Option::Some(field_scale) = self.scale().transpose() {
                    f.field("scale", &field_scale);
                }
                if let ::core::option::Option::Some(field_zero_point) =
                    self.zero_point().transpose()
                {
                    f.field("zero_point", &field_zero_point);
                }
                if let ::core::option::Option::Some(field_details) = self.details().transpose() {
                    f.field("details", &field_details);
                }
                f.field("quantized_dimension", &self.quantized_dimension());
                f.finish()
            }
        }

        impl<'a> ::core::convert::TryFrom<QuantizationParametersRef<'a>> for QuantizationParameters {
            type Error = ::planus::Error;

            #[allow(unreachable_code)]
            fn try_from(value: QuantizationParametersRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(Self {
                    min: if let ::core::option::Option::Some(min) = value.min()? {
                        ::core::option::Option::Some(min.to_vec()?)
                    } else {
                        ::core::option::Option::None
                    },
                    max: if let ::core::option::Option::Some(max) = value.max()? {
                        ::core::option::Option::Some(max.to_vec()?)
                    } else {
                        ::core::option::Option::None
                    },
                    scale: if let ::core::option::Option::Some(scale) = value.scale()? {
                        ::core::option::Option::Some(scale.to_vec()?)
                    } else {
                        ::core::option::Option::None
                    },
                    zero_point: if let ::core::option::Option::Some(zero_point) =
                        value.zero_point()?
                    {
                        ::core::option::Option::Some(zero_point.to_vec()?)
                    } else {
                        ::core::option::Option::None
                    },
                    details: if let ::core::option::Option::Some(details) = value.details()? {
                        ::core::option::Option::Some(::core::convert::TryInto::try_into(details)?)
                    } else {
                        ::core::option::Option::None
                    },
                    quantized_dimension: ::core::convert::TryInto::try_into(
                        value.quantized_dimension()?,
                    )?,
                })
            }
        }

        impl<'a> ::planus::TableRead<'a> for QuantizationParametersRef<'a> {
            #[inline]
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                ::core::result::Result::Ok(Self(::planus::table_reader::Table::from_buffer(
                    buffer, offset,
                )?))
            }
        }

        impl<'a> ::planus::VectorReadInner<'a> for QuantizationParametersRef<'a> {
            type Error = ::planus::Error;
            const STRIDE: usize = 4;

            unsafe fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(buffer, offset).map_err(|error_kind| {
                    error_kind.with_error_location(
                        "[QuantizationParametersRef]",
                        "get",
                        buffer.offset_from_start,
                    )
                })
            }
        }

        /// # Safety
        /// The planus compiler generates implementations that initialize
        /// the bytes in `write_values`.
        unsafe impl ::planus::VectorWrite<::planus::Offset<QuantizationParameters>>
            for QuantizationParameters
        {
            type Value = ::planus::Offset<QuantizationParameters>;
            const STRIDE: usize = 4;
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> Self::Value {
                ::planus::WriteAs::prepare(self, builder)
            }

            #[inline]
            unsafe fn write_values(
                values: &[::planus::Offset<QuantizationParameters>],
                bytes: *mut ::core::mem::MaybeUninit<u8>,
                buffer_position: u32,
            ) {
                let bytes = bytes as *mut [::core::mem::MaybeUninit<u8>; 4];
                for (i, v) in ::core::iter::Iterator::enumerate(values.iter()) {
                    ::planus::WriteAsPrimitive::write(
                        v,
                        ::planus::Cursor::new(unsafe { &mut *bytes.add(i) }),
                        buffer_position - (Self::STRIDE * i) as u32,
                    );
                }
            }
        }

        impl<'a> ::planus::ReadAsRoot<'a> for QuantizationParametersRef<'a> {
            fn read_as_root(slice: &'a [u8]) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(
                    ::planus::SliceWithStartOffset {
                        buffer: slice,
                        offset_from_start: 0,
                    },
                    0,
                )
                .map_err(|error_kind| {
                    error_kind.with_error_location("[QuantizationParametersRef]", "read_as_root", 0)
                })
            }
        }

        /// The table `SparsityParameters` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Table `SparsityParameters` in the file `schema.fbs:49`
        #[derive(
            Clone,
            Debug,
            PartialEq,
            PartialOrd,
            Eq,
            Ord,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
        )]
        pub struct SparsityParameters {
            /// The field `traversal_order` in the table `SparsityParameters`
            pub traversal_order: ::core::option::Option<::planus::alloc::vec::Vec<i32>>,
        }

        #[allow(clippy::derivable_impls)]
        impl ::core::default::Default for SparsityParameters {
            fn default() -> Self {
                Self {
                    traversal_order: ::core::default::Default::default(),
                }
            }
        }

        impl SparsityParameters {
            /// Creates a [SparsityParametersBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> SparsityParametersBuilder<()> {
                SparsityParametersBuilder(())
            }

            #[allow(clippy::too_many_arguments)]
            pub fn create(
                builder: &mut ::planus::Builder,
                field_traversal_order: impl ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
            ) -> ::planus::Offset<Self> {
                let prepared_traversal_order = field_traversal_order.prepare(builder);

                let mut table_writer: ::planus::table_writer::TableWriter<6> =
                    ::core::default::Default::default();
                if prepared_traversal_order.is_some() {
                    table_writer.write_entry::<::planus::Offset<[i32]>>(0);
                }

                unsafe {
                    table_writer.finish(builder, |object_writer| {
                        if let ::core::option::Option::Some(prepared_traversal_order) =
                            prepared_traversal_order
                        {
                            object_writer.write::<_, _, 4>(&prepared_traversal_order);
                        }
                    });
                }
                builder.current_offset()
            }
        }

        impl ::planus::WriteAs<::planus::Offset<SparsityParameters>> for SparsityParameters {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<SparsityParameters> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl ::planus::WriteAsOptional<::planus::Offset<SparsityParameters>> for SparsityParameters {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<SparsityParameters>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl ::planus::WriteAsOffset<SparsityParameters> for SparsityParameters {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<SparsityParameters> {
                SparsityParameters::create(builder, &self.traversal_order)
            }
        }

        /// Builder for serializing an instance of the [SparsityParameters] type.
        ///
        /// Can be created using the [SparsityParameters::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct SparsityParametersBuilder<State>(State);

        impl SparsityParametersBuilder<()> {
            /// Setter for the [`traversal_order` field](SparsityParameters#structfield.traversal_order).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn traversal_order<T0>(self, value: T0) -> SparsityParametersBuilder<(T0,)>
            where
                T0: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
            {
                SparsityParametersBuilder((value,))
            }

            /// Sets the [`traversal_order` field](SparsityParameters#structfield.traversal_order) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn traversal_order_as_null(self) -> SparsityParametersBuilder<((),)> {
                self.traversal_order(())
            }
        }

        impl<T0> SparsityParametersBuilder<(T0,)> {
            /// Finish writing the builder to get an [Offset](::planus::Offset) to a serialized [SparsityParameters].
            #[inline]
            pub fn finish(
                self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<SparsityParameters>
            where
                Self: ::planus::WriteAsOffset<SparsityParameters>,
            {
                ::planus::WriteAsOffset::prepare(&self, builder)
            }
        }

        impl<T0: ::planus::WriteAsOptional<::planus::Offset<[i32]>>>
            ::planus::WriteAs<::planus::Offset<SparsityParameters>>
            for SparsityParametersBuilder<(T0,)>
        {
            type Prepared = ::planus::Offset<SparsityParameters>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<SparsityParameters> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl<T0: ::planus::WriteAsOptional<::planus::Offset<[i32]>>>
            ::planus::WriteAsOptional<::planus::Offset<SparsityParameters>>
            for SparsityParametersBuilder<(T0,)>
        {
            type Prepared = ::planus::Offset<SparsityParameters>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<SparsityParameters>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl<T0: ::planus::WriteAsOptional<::planus::Offset<[i32]>>>
            ::planus::WriteAsOffset<SparsityParameters> for SparsityParametersBuilder<(T0,)>
        {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<SparsityParameters> {
                let (v0,) = &self.0;
                SparsityParameters::create(builder, v0)
            }
        }

        /// Reference to a deserialized [SparsityParameters].
        #[derive(Copy, Clone)]
        pub struct SparsityParametersRef<'a>(#[allow(dead_code)] ::planus::table_reader::Table<'a>);

        impl<'a> SparsityParametersRef<'a> {
            /// Getter for the [`traversal_order` field](SparsityParameters#structfield.traversal_order).
            #[inline]
            pub fn traversal_order(
                &self,
            ) -> ::planus::Result<::core::option::Option<::planus::Vector<'a, i32>>> {
                self.0.access(0, "SparsityParameters", "traversal_order")
            }
        }

        impl<'a> ::core::fmt::Debug for SparsityParametersRef<'a> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut f = f.debug_struct("SparsityParametersRef");
                if let ::core::option::Option::Some(field_traversal_order) =
                    self.traversal_order().transpose()
                {
                    f.field("traversal_order", &field_traversal_order);
                }
                f.finish()
            }
        }

        impl<'a> ::core::convert::TryFrom<SparsityParametersRef<'a>> for SparsityParameters {
            type Error = ::planus::Error;

            #[allow(unreachable_code)]
            fn try_from(value: SparsityParametersRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(Self {
                    traversal_order: if let ::core::option::Option::Some(traversal_order) =
                        value.traversal_order()?
                    {
                        ::core::option::Option::Some(traversal_order.to_vec()?)
                    } else {
                        ::core::option::Option::None
                    },
                })
            }
        }

        impl<'a> ::planus::TableRead<'a> for SparsityParametersRef<'a> {
            #[inline]
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                ::core::result::Result::Ok(Self(::planus::table_reader::Table::from_buffer(
                    buffer, offset,
                )?))
            }
        }

        impl<'a> ::planus::VectorReadInner<'a> for SparsityParametersRef<'a> {
            type Error = ::planus::Error;
            const STRIDE: usize = 4;

            unsafe fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(buffer, offset).map_err(|error_kind| {
                    error_kind.with_error_location(
                        "[SparsityParametersRef]",
                        "get",
                        buffer.offset_from_start,
                    )
                })
            }
        }

        /// # Safety
        /// The planus compiler generates implementations that initialize
        /// the bytes in `write_values`.
        unsafe impl ::planus::VectorWrite<::planus::Offset<SparsityParameters>> for SparsityParameters {
            type Value = ::planus::Offset<SparsityParameters>;
            const STRIDE: usize = 4;
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> Self::Value {
                ::planus::WriteAs::prepare(self, builder)
            }

            #[inline]
            unsafe fn write_values(
                values: &[::planus::Offset<SparsityParameters>],
                bytes: *mut ::core::mem::MaybeUninit<u8>,
                buffer_position: u32,
            ) {
                let bytes = bytes as *mut [::core::mem::MaybeUninit<u8>; 4];
                for (i, v) in ::core::iter::Iterator::enumerate(values.iter()) {
                    ::planus::WriteAsPrimitive::write(
                        v,
                        ::planus::Cursor::new(unsafe { &mut *bytes.add(i) }),
                        buffer_position - (Self::STRIDE * i) as u32,
                    );
                }
            }
        }

        impl<'a> ::planus::ReadAsRoot<'a> for SparsityParametersRef<'a> {
            fn read_as_root(slice: &'a [u8]) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(
                    ::planus::SliceWithStartOffset {
                        buffer: slice,
                        offset_from_start: 0,
                    },
                    0,
                )
                .map_err(|error_kind| {
                    error_kind.with_error_location("[SparsityParametersRef]", "read_as_root", 0)
                })
            }
        }

        /// The table `Tensor` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Table `Tensor` in the file `schema.fbs:53`
        #[derive(Clone, Debug, PartialEq, PartialOrd, ::serde::Serialize, ::serde::Deserialize)]
        pub struct Tensor {
            /// The field `shape` in the table `Tensor`
            pub shape: ::core::option::Option<::planus::alloc::vec::Vec<i32>>,
            /// The field `type` in the table `Tensor`
            pub type_: i8,
            /// The field `buffer` in the table `Tensor`
            pub buffer: u32,
            /// The field `name` in the table `Tensor`
            pub name: ::core::option::Option<::planus::alloc::string::String>,
            /// The field `quantization` in the table `Tensor`
            pub quantization:
                ::core::option::Option<::planus::alloc::boxed::Box<self::QuantizationParameters>>,
            /// The field `is_variable` in the table `Tensor`
            pub is_variable: bool,
            /// The field `sparsity` in the table `Tensor`
            pub sparsity:
                ::core::option::Option<::planus::alloc::boxed::Box<self::SparsityParameters>>,
            /// The field `external_buffer` in the table `Tensor`
            pub external_buffer: u32,
        }

        #[allow(clippy::derivable_impls)]
        impl ::core::default::Default for Tensor {
            fn default() -> Self {
                Self {
                    shape: ::core::default::Default::default(),
                    type_: 0,
                    buffer: 0,
                    name: ::core::default::Default::default(),
                    quantization: ::core::default::Default::default(),
                    is_variable: false,
                    sparsity: ::core::default::Default::default(),
                    external_buffer: 0,
                }
            }
        }

        impl Tensor {
            /// Creates a [TensorBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> TensorBuilder<()> {
                TensorBuilder(())
            }

            #[allow(clippy::too_many_arguments)]
            pub fn create(
                builder: &mut ::planus::Builder,
                field_shape: impl ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
                field_type_: impl ::planus::WriteAsDefault<i8, i8>,
                field_buffer: impl ::planus::WriteAsDefault<u32, u32>,
                field_name: impl ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
                field_quantization: impl ::planus::WriteAsOptional<
                    ::planus::Offset<self::QuantizationParameters>,
                >,
                field_is_variable: impl ::planus::WriteAsDefault<bool, bool>,
                field_sparsity: impl ::planus::WriteAsOptional<
                    ::planus::Offset<self::SparsityParameters>,
                >,
                field_external_buffer: impl ::planus::WriteAsDefault<u32, u32>,
            ) -> ::planus::Offset<Self> {
                let prepared_shape = field_shape.prepare(builder);
                let prepared_type_ = field_type_.prepare(builder, &0);
                let prepared_buffer = field_buffer.prepare(builder, &0);
                let prepared_name = field_name.prepare(builder);
                let prepared_quantization = field_quantization.prepare(builder);
                let prepared_is_variable = field_is_variable.prepare(builder, &false);
                let prepared_sparsity = field_sparsity.prepare(builder);
                let prepared_external_buffer = field_external_buffer.prepare(builder, &0);

                let mut table_writer: ::planus::table_writer::TableWriter<26> =
                    ::core::default::Default::default();
                if prepared_shape.is_some() {
                    table_writer.write_entry::<::planus::Offset<[i32]>>(0);
                }
                if prepared_buffer.is_some() {
                    table_writer.write_entry::<u32>(2);
                }
                if prepared_name.is_some() {
                    table_writer.write_entry::<::planus::Offset<str>>(3);
                }
                if prepared_quantization.is_some() {
                    table_writer.write_entry::<::planus::Offset<self::QuantizationParameters>>(4);
                }
                if prepared_sparsity.is_some() {
                    table_writer.write_entry::<::planus::Offset<self::SparsityParameters>>(6);
                }
                if prepared_external_buffer.is_some() {
                    table_writer.write_entry::<u32>(10);
                }
                if prepared_type_.is_some() {
                    table_writer.write_entry::<i8>(1);
                }
                if prepared_is_variable.is_some() {
                    table_writer.write_entry::<bool>(5);
                }

                unsafe {
                    table_writer.finish(builder, |object_writer| {
                        if let ::core::option::Option::Some(prepared_shape) = prepared_shape {
                            object_writer.write::<_, _, 4>(&prepared_shape);
                        }
                        if let ::core::option::Option::Some(prepared_buffer) = prepared_buffer {
                            object_writer.write::<_, _, 4>(&prepared_buffer);
                        }
                        if let ::core::option::Option::Some(prepared_name) = prepared_name {
                            object_writer.write::<_, _, 4>(&prepared_name);
                        }
                        if let ::core::option::Option::Some(prepared_quantization) =
                            prepared_quantization
                        {
                            object_writer.write::<_, _, 4>(&prepared_quantization);
                        }
                        if let ::core::option::Option::Some(prepared_sparsity) = prepared_sparsity {
                            object_writer.write::<_, _, 4>(&prepared_sparsity);
                        }
                        if let ::core::option::Option::Some(prepared_external_buffer) =
                            prepared_external_buffer
                        {
                            object_writer.write::<_, _, 4>(&prepared_external_buffer);
                        }
                        if let ::core::option::Option::Some(prepared_type_) = prepared_type_ {
                            object_writer.write::<_, _, 1>(&prepared_type_);
                        }
                        if let ::core::option::Option::Some(prepared_is_variable) =
                            prepared_is_variable
                        {
                            object_writer.write::<_, _, 1>(&prepared_is_variable);
                        }
                    });
                }
                builder.current_offset()
            }
        }

        impl ::planus::WriteAs<::planus::Offset<Tensor>> for Tensor {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Tensor> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl ::planus::WriteAsOptional<::planus::Offset<Tensor>> for Tensor {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<Tensor>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl ::planus::WriteAsOffset<Tensor> for Tensor {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Tensor> {
                Tensor::create(
                    builder,
                    &self.shape,
                    self.type_,
                    self.buffer,
                    &self.name,
                    &self.quantization,
                    self.is_variable,
                    &self.sparsity,
                    self.external_buffer,
                )
            }
        }

        /// Builder for serializing an instance of the [Tensor] type.
        ///
        /// Can be created using the [Tensor::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct TensorBuilder<State>(State);

        impl TensorBuilder<()> {
            /// Setter for the [`shape` field](Tensor#structfield.shape).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn shape<T0>(self, value: T0) -> TensorBuilder<(T0,)>
            where
                T0: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
            {
                TensorBuilder((value,))
            }

            /// Sets the [`shape` field](Tensor#structfield.shape) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn shape_as_null(self) -> TensorBuilder<((),)> {
                self.shape(())
            }
        }

        impl<T0> TensorBuilder<(T0,)> {
            /// Setter for the [`type` field](Tensor#structfield.type_).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn type_<T1>(self, value: T1) -> TensorBuilder<(T0, T1)>
            where
                T1: ::planus::WriteAsDefault<i8, i8>,
            {
                let (v0,) = self.0;
                TensorBuilder((v0, value))
            }

            /// Sets the [`type` field](Tensor#structfield.type_) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn type_as_default(self) -> TensorBuilder<(T0, ::planus::DefaultValue)> {
                self.type_(::planus::DefaultValue)
            }
        }

        impl<T0, T1> TensorBuilder<(T0, T1)> {
            /// Setter for the [`buffer` field](Tensor#structfield.buffer).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn buffer<T2>(self, value: T2) -> TensorBuilder<(T0, T1, T2)>
            where
                T2: ::planus::WriteAsDefault<u32, u32>,
            {
                let (v0, v1) = self.0;
                TensorBuilder((v0, v1, value))
            }

            /// Sets the [`buffer` field](Tensor#structfield.buffer) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn buffer_as_default(self) -> TensorBuilder<(T0, T1, ::planus::DefaultValue)> {
                self.buffer(::planus::DefaultValue)
            }
        }

        impl<T0, T1, T2> TensorBuilder<(T0, T1, T2)> {
            /// Setter for the [`name` field](Tensor#structfield.name).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn name<T3>(self, value: T3) -> TensorBuilder<(T0, T1, T2, T3)>
            where
                T3: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            {
                let (v0, v1, v2) = self.0;
                TensorBuilder((v0, v1, v2, value))
            }

            /// Sets the [`name` field](Tensor#structfield.name) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn name_as_null(self) -> TensorBuilder<(T0, T1, T2, ())> {
                self.name(())
            }
        }

        impl<T0, T1, T2, T3> TensorBuilder<(T0, T1, T2, T3)> {
            /// Setter for the [`quantization` field](Tensor#structfield.quantization).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn quantization<T4>(self, value: T4) -> TensorBuilder<(T0, T1, T2, T3, T4)>
            where
                T4: ::planus::WriteAsOptional<::planus::Offset<self::QuantizationParameters>>,
            {
                let (v0, v1, v2, v3) = self.0;
                TensorBuilder((v0, v1, v2, v3, value))
            }

            /// Sets the [`quantization` field](Tensor#structfield.quantization) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn quantization_as_null(self) -> TensorBuilder<(T0, T1, T2, T3, ())> {
                self.quantization(())
            }
        }

        impl<T0, T1, T2, T3, T4> TensorBuilder<(T0, T1, T2, T3, T4)> {
            /// Setter for the [`is_variable` field](Tensor#structfield.is_variable).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn is_variable<T5>(self, value: T5) -> TensorBuilder<(T0, T1, T2, T3, T4, T5)>
            where
                T5: ::planus::WriteAsDefault<bool, bool>,
            {
                let (v0, v1, v2, v3, v4) = self.0;
                TensorBuilder((v0, v1, v2, v3, v4, value))
            }

            /// Sets the [`is_variable` field](Tensor#structfield.is_variable) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn is_variable_as_default(
                self,
            ) -> TensorBuilder<(T0, T1, T2, T3, T4, ::planus::DefaultValue)> {
                self.is_variable(::planus::DefaultValue)
            }
        }

        impl<T0, T1, T2, T3, T4, T5> TensorBuilder<(T0, T1, T2, T3, T4, T5)> {
            /// Setter for the [`sparsity` field](Tensor#structfield.sparsity).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn sparsity<T6>(self, value: T6) -> TensorBuilder<(T0, T1, T2, T3, T4, T5, T6)>
            where
                T6: ::planus::WriteAsOptional<::planus::Offset<self::SparsityParameters>>,
            {
                let (v0, v1, v2, v3, v4, v5) = self.0;
                TensorBuilder((v0, v1, v2, v3, v4, v5, value))
            }

            /// Sets the [`sparsity` field](Tensor#structfield.sparsity) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn sparsity_as_null(self) -> TensorBuilder<(T0, T1, T2, T3, T4, T5, ())> {
                self.sparsity(())
            }
        }

        impl<T0, T1, T2, T3, T4, T5, T6> TensorBuilder<(T0, T1, T2, T3, T4, T5, T6)> {
            /// Setter for the [`external_buffer` field](Tensor#structfield.external_buffer).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn external_buffer<T7>(
                self,
                value: T7,
            ) -> TensorBuilder<(T0, T1, T2, T3, T4, T5, T6, T7)>
            where
                T7: ::planus::WriteAsDefault<u32, u32>,
            {
                let (v0, v1, v2, v3, v4, v5, v6) = self.0;
                TensorBuilder((v0, v1, v2, v3, v4, v5, v6, value))
            }

            /// Sets the [`external_buffer` field](Tensor#structfield.external_buffer) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn external_buffer_as_default(
                self,
            ) -> TensorBuilder<(T0, T1, T2, T3, T4, T5, T6, ::planus::DefaultValue)> {
                self.external_buffer(::planus::DefaultValue)
            }
        }

        impl<T0, T1, T2, T3, T4, T5, T6, T7> TensorBuilder<(T0, T1, T2, T3, T4, T5, T6, T7)> {
            /// Finish writing the builder to get an [Offset](::planus::Offset) to a serialized [Tensor].
            #[inline]
            pub fn finish(self, builder: &mut ::planus::Builder) -> ::planus::Offset<Tensor>
            where
                Self: ::planus::WriteAsOffset<Tensor>,
            {
                ::planus::WriteAsOffset::prepare(&self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
                T1: ::planus::WriteAsDefault<i8, i8>,
                T2: ::planus::WriteAsDefault<u32, u32>,
                T3: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
                T4: ::planus::WriteAsOptional<::planus::Offset<self::QuantizationParameters>>,
                T5: ::planus::WriteAsDefault<bool, bool>,
                T6: ::planus::WriteAsOptional<::planus::Offset<self::SparsityParameters>>,
                T7: ::planus::WriteAsDefault<u32, u32>,
            > ::planus::WriteAs<::planus::Offset<Tensor>>
            for TensorBuilder<(T0, T1, T2, T3, T4, T5, T6, T7)>
        {
            type Prepared = ::planus::Offset<Tensor>;

            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Tensor> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
                T1: ::planus::WriteAsDefault<i8, i8>,
                T2: ::planus::WriteAsDefault<u32, u32>,
                T3: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
                T4: ::planus::WriteAsOptional<::planus::Offset<self::QuantizationParameters>>,
                T5: ::planus::WriteAsDefault<bool, bool>,
                T6: ::planus::WriteAsOptional<::planus::Offset<self::SparsityParameters>>,
                T7: ::planus::WriteAsDefault<u32, u32>,
            > ::planus::WriteAsOptional<::planus::Offset<Tensor>>
            for TensorBuilder<(T0, T1, T2, T3, T4, T5, T6, T7)>
        {
            type Prepared = ::planus::Offset<Tensor>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<Tensor>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
                T1: ::planus::WriteAsDefault<i8, i8>,
                T2: ::planus::WriteAsDefault<u32, u32>,
                T3: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
                T4: ::planus::WriteAsOptional<::planus::Offset<self::QuantizationParameters>>,
                T5: ::planus::WriteAsDefault<bool, bool>,
                T6: ::planus::WriteAsOptional<::planus::Offset<self::SparsityParameters>>,
                T7: ::planus::WriteAsDefault<u32, u32>,
            > ::planus::WriteAsOffset<Tensor> for TensorBuilder<(T0, T1, T2, T3, T4, T5, T6, T7)>
        {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Tensor> {
                let (v0, v1, v2, v3, v4, v5, v6, v7) = &self.0;
                Tensor::create(builder, v0, v1, v2, v3, v4, v5, v6, v7)
            }
        }

        /// Reference to a deserialized [Tensor].
        #[derive(Copy, Clone)]
        pub struct TensorRef<'a>(#[allow(dead_code)] ::planus::table_reader::Table<'a>);

        impl<'a> TensorRef<'a> {
            /// Getter for the [`shape` field](Tensor#structfield.shape).
            #[inline]
            pub fn shape(
                &self,
            ) -> ::planus::Result<::core::option::Option<::planus::Vector<'a, i32>>> {
                self.0.access(0, "Tensor", "shape")
            }

            /// Getter for the [`type` field](Tensor#structfield.type_).
            #[inline]
            pub fn type_(&self) -> ::planus::Result<i8> {
                ::core::result::Result::Ok(self.0.access(1, "Tensor", "type_")?.unwrap_or(0))
            }

            /// Getter for the [`buffer` field](Tensor#structfield.buffer).
            #[inline]
            pub fn buffer(&self) -> ::planus::Result<u32> {
                ::core::result::Result::Ok(self.0.access(2, "Tensor", "buffer")?.unwrap_or(0))
            }

            /// Getter for the [`name` field](Tensor#structfield.name).
            #[inline]
            pub fn name(
                &self,
            ) -> ::planus::Result<::core::option::Option<&'a ::core::primitive::str>> {
                self.0.access(3, "Tensor", "name")
            }

            /// Getter for the [`quantization` field](Tensor#structfield.quantization).
            #[inline]
            pub fn quantization(
                &self,
            ) -> ::planus::Result<::core::option::Option<self::QuantizationParametersRef<'a>>>
            {
                self.0.access(4, "Tensor", "quantization")
            }

            /// Getter for the [`is_variable` field](Tensor#structfield.is_variable).
            #[inline]
            pub fn is_variable(&self) -> ::planus::Result<bool> {
                ::core::result::Result::Ok(
                    self.0.access(5, "Tensor", "is_variable")?.unwrap_or(false),
                )
            }

            /// Getter for the [`sparsity` field](Tensor#structfield.sparsity).
            #[inline]
            pub fn sparsity(
                &self,
            ) -> ::planus::Result<::core::option::Option<self::SparsityParametersRef<'a>>>
            {
                self.0.access(6, "Tensor", "sparsity")
            }

            /// Getter for the [`external_buffer` field](Tensor#structfield.external_buffer).
            #[inline]
            pub fn external_buffer(&self) -> ::planus::Result<u32> {
                ::core::result::Result::Ok(
                    self.0.access(10, "Tensor", "external_buffer")?.unwrap_or(0),
                )
            }
        }

        impl<'a> ::core::fmt::Debug for TensorRef<'a> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut f = f.debug_struct("TensorRef");
                if let ::core::option::Option::Some(field_shape) = self.shape().transpose() {
                    f.field("shape", &field_shape);
                }
                f.field("type_", &self.type_());
                f.field("buffer", &self.buffer());
                if let ::core::option::Option::Some(field_name) = self.name().transpose() {
                    f.field("name", &field_name);
                }
                if let ::core::option::Option::Some(field_quantization) =
                    self.quantization().transpose()
                {
                    f.field("quantization", &field_quantization);
                }
                f.field("is_variable", &self.is_variable());
                if let ::core::option::Option::Some(field_sparsity) = self.sparsity().transpose() {
                    f.field("sparsity", &field_sparsity);
                }
                f.field("external_buffer", &self.external_buffer());
                f.finish()
            }
        }

        impl<'a> ::core::convert::TryFrom<TensorRef<'a>> for Tensor {
            type Error = ::planus::Error;

            #[allow(unreachable_code)]
            fn try_from(value: TensorRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(Self {
                    shape: if let ::core::option::Option::Some(shape) = value.shape()? {
                        ::core::option::Option::Some(shape.to_vec()?)
                    } else {
                        ::core::option::Option::None
                    },
                    type_: ::core::convert::TryInto::try_into(value.type_()?)?,
                    buffer: ::core::convert::TryInto::try_into(value.buffer()?)?,
                    name: value.name()?.map(::core::convert::Into::into),
                    quantization: if let ::core::option::Option::Some(quantization) =
                        value.quantization()?
                    {
                        ::core::option::Option::Some(::planus::alloc::boxed::Box::new(
                            ::core::convert::TryInto::try_into(quantization)?,
                        ))
                    } else {
                        ::core::option::Option::None
                    },
                    is_variable: ::core::convert::TryInto::try_into(value.is_variable()?)?,
                    sparsity: if let ::core::option::Option::Some(sparsity) = value.sparsity()? {
                        ::core::option::Option::Some(::planus::alloc::boxed::Box::new(
                            ::core::convert::TryInto::try_into(sparsity)?,
                        ))
                    } else {
                        ::core::option::Option::None
                    },
                    external_buffer: ::core::convert::TryInto::try_into(value.external_buffer()?)?,
                })
            }
        }

        impl<'a> ::planus::TableRead<'a> for TensorRef<'a> {
            #[inline]
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                ::core::result::Result::Ok(Self(::planus::table_reader::Table::from_buffer(
                    buffer, offset,
                )?))
            }
        }

        impl<'a> ::planus::VectorReadInner<'a> for TensorRef<'a> {
            type Error = ::planus::Error;
            const STRIDE: usize = 4;

            unsafe fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(buffer, offset).map_err(|error_kind| {
                    error_kind.with_error_location("[TensorRef]", "get", buffer.offset_from_start)
                })
            }
        }

        /// # Safety
        /// The planus compiler generates implementations that initialize
        /// the bytes in `write_values`.
        unsafe impl ::planus::VectorWrite<::planus::Offset<Tensor>> for Tensor {
            type Value = ::planus::Offset<Tensor>;
            const STRIDE: usize = 4;
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> Self::Value {
                ::planus::WriteAs::prepare(self, builder)
            }

            #[inline]
            unsafe fn write_values(
                values: &[::planus::Offset<Tensor>],
                bytes: *mut ::core::mem::MaybeUninit<u8>,
                buffer_position: u32,
            ) {
                let bytes = bytes as *mut [::core::mem::MaybeUninit<u8>; 4];
                for (i, v) in ::core::iter::Iterator::enumerate(values.iter()) {
                    ::planus::WriteAsPrimitive::write(
                        v,
                        ::planus::Cursor::new(unsafe { &mut *bytes.add(i) }),
                        buffer_position - (Self::STRIDE * i) as u32,
                    );
                }
            }
        }

        impl<'a> ::planus::ReadAsRoot<'a> for TensorRef<'a> {
            fn read_as_root(slice: &'a [u8]) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(
                    ::planus::SliceWithStartOffset {
                        buffer: slice,
                        offset_from_start: 0,
                    },
                    0,
                )
                .map_err(|error_kind| {
                    error_kind.with_error_location("[TensorRef]", "read_as_root", 0)
                })
            }
        }

        /// The table `SubGraph` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Table `SubGraph` in the file `schema.fbs:67`
        #[derive(Clone, Debug, PartialEq, PartialOrd, ::serde::Serialize, ::serde::Deserialize)]
        pub struct SubGraph {
            /// The field `tensors` in the table `SubGraph`
            pub tensors: ::core::option::Option<::planus::alloc::vec::Vec<self::Tensor>>,
            /// The field `name` in the table `SubGraph`
            pub name: ::core::option::Option<::planus::alloc::string::String>,
        }

        #[allow(clippy::derivable_impls)]
        impl ::core::default::Default for SubGraph {
            fn default() -> Self {
                Self {
                    tensors: ::core::default::Default::default(),
                    name: ::core::default::Default::default(),
                }
            }
        }

        impl SubGraph {
            /// Creates a [SubGraphBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> SubGraphBuilder<()> {
                SubGraphBuilder(())
            }

            #[allow(clippy::too_many_arguments)]
            pub fn create(
                builder: &mut ::planus::Builder,
                field_tensors: impl ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::Tensor>]>,
                >,
                field_name: impl ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            ) -> ::planus::Offset<Self> {
                let prepared_tensors = field_tensors.prepare(builder);
                let prepared_name = field_name.prepare(builder);

                let mut table_writer: ::planus::table_writer::TableWriter<14> =
                    ::core::default::Default::default();
                if prepared_tensors.is_some() {
                    table_writer
                        .write_entry::<::planus::Offset<[::planus::Offset<self::Tensor>]>>(0);
                }
                if prepared_name.is_some() {
                    table_writer.write_entry::<::planus::Offset<str>>(4);
                }

                unsafe {
                    table_writer.finish(builder, |object_writer| {
                        if let ::core::option::Option::Some(prepared_tensors) = prepared_tensors {
                            object_writer.write::<_, _, 4>(&prepared_tensors);
                        }
                        if let ::core::option::Option::Some(prepared_name) = prepared_name {
                            object_writer.write::<_, _, 4>(&prepared_name);
                        }
                    });
                }
                builder.current_offset()
            }
        }

        impl ::planus::WriteAs<::planus::Offset<SubGraph>> for SubGraph {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<SubGraph> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl ::planus::WriteAsOptional<::planus::Offset<SubGraph>> for SubGraph {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<SubGraph>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl ::planus::WriteAsOffset<SubGraph> for SubGraph {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<SubGraph> {
                SubGraph::create(builder, &self.tensors, &self.name)
            }
        }

        /// Builder for serializing an instance of the [SubGraph] type.
        ///
        /// Can be created using the [SubGraph::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct SubGraphBuilder<State>(State);

        impl SubGraphBuilder<()> {
            /// Setter for the [`tensors` field](SubGraph#structfield.tensors).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn tensors<T0>(self, value: T0) -> SubGraphBuilder<(T0,)>
            where
                T0: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::Tensor>]>>,
            {
                SubGraphBuilder((value,))
            }

            /// Sets the [`tensors` field](SubGraph#structfield.tensors) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn tensors_as_null(self) -> SubGraphBuilder<((),)> {
                self.tensors(())
            }
        }

        impl<T0> SubGraphBuilder<(T0,)> {
            /// Setter for the [`name` field](SubGraph#structfield.name).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn name<T1>(self, value: T1) -> SubGraphBuilder<(T0, T1)>
            where
                T1: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            {
                let (v0,) = self.0;
                SubGraphBuilder((v0, value))
            }

            /// Sets the [`name` field](SubGraph#structfield.name) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn name_as_null(self) -> SubGraphBuilder<(T0, ())> {
                self.name(())
            }
        }

        impl<T0, T1> SubGraphBuilder<(T0, T1)> {
            /// Finish writing the builder to get an [Offset](::planus::Offset) to a serialized [SubGraph].
            #[inline]
            pub fn finish(self, builder: &mut ::planus::Builder) -> ::planus::Offset<SubGraph>
            where
                Self: ::planus::WriteAsOffset<SubGraph>,
            {
                ::planus::WriteAsOffset::prepare(&self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::Tensor>]>>,
                T1: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            > ::planus::WriteAs<::planus::Offset<SubGraph>> for SubGraphBuilder<(T0, T1)>
        {
            type Prepared = ::planus::Offset<SubGraph>;

            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<SubGraph> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::Tensor>]>>,
                T1: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            > ::planus::WriteAsOptional<::planus::Offset<SubGraph>> for SubGraphBuilder<(T0, T1)>
        {
            type Prepared = ::planus::Offset<SubGraph>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<SubGraph>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::Tensor>]>>,
                T1: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            > ::planus::WriteAsOffset<SubGraph> for SubGraphBuilder<(T0, T1)>
        {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<SubGraph> {
                let (v0, v1) = &self.0;
                SubGraph::create(builder, v0, v1)
            }
        }

        /// Reference to a deserialized [SubGraph].
        #[derive(Copy, Clone)]
        pub struct SubGraphRef<'a>(#[allow(dead_code)] ::planus::table_reader::Table<'a>);

        impl<'a> SubGraphRef<'a> {
            /// Getter for the [`tensors` field](SubGraph#structfield.tensors).
            #[inline]
            pub fn tensors(
                &self,
            ) -> ::planus::Result<
                ::core::option::Option<::planus::Vector<'a, ::planus::Result<self::TensorRef<'a>>>>,
            > {
                self.0.access(0, "SubGraph", "tensors")
            }

            /// Getter for the [`name` field](SubGraph#structfield.name).
            #[inline]
            pub fn name(
                &self,
            ) -> ::planus::Result<::core::option::Option<&'a ::core::primitive::str>> {
                self.0.access(4, "SubGraph", "name")
            }
        }

        impl<'a> ::core::fmt::Debug for SubGraphRef<'a> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut f = f.debug_struct("SubGraphRef");
                if let ::core::option::Option::Some(field_tensors) = self.tensors().transpose() {
                    f.field("tensors", &field_tensors);
                }
                if let ::core::option::Option::Some(field_name) = self.name().transpose() {
                    f.field("name", &field_name);
                }
                f.finish()
            }
        }

        impl<'a> ::core::convert::TryFrom<SubGraphRef<'a>> for SubGraph {
            type Error = ::planus::Error;

            #[allow(unreachable_code)]
            fn try_from(value: SubGraphRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(Self {
                    tensors: if let ::core::option::Option::Some(tensors) = value.tensors()? {
                        ::core::option::Option::Some(tensors.to_vec_result()?)
                    } else {
                        ::core::option::Option::None
                    },
                    name: value.name()?.map(::core::convert::Into::into),
                })
            }
        }

        impl<'a> ::planus::TableRead<'a> for SubGraphRef<'a> {
            #[inline]
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                ::core::result::Result::Ok(Self(::planus::table_reader::Table::from_buffer(
                    buffer, offset,
                )?))
            }
        }

        impl<'a> ::planus::VectorReadInner<'a> for SubGraphRef<'a> {
            type Error = ::planus::Error;
            const STRIDE: usize = 4;

            unsafe fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(buffer, offset).map_err(|error_kind| {
                    error_kind.with_error_location("[SubGraphRef]", "get", buffer.offset_from_start)
                })
            }
        }

        /// # Safety
        /// The planus compiler generates implementations that initialize
        /// the bytes in `write_values`.
        unsafe impl ::planus::VectorWrite<::planus::Offset<SubGraph>> for SubGraph {
            type Value = ::planus::Offset<SubGraph>;
            const STRIDE: usize = 4;
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> Self::Value {
                ::planus::WriteAs::prepare(self, builder)
            }

            #[inline]
            unsafe fn write_values(
                values: &[::planus::Offset<SubGraph>],
                bytes: *mut ::core::mem::MaybeUninit<u8>,
                buffer_position: u32,
            ) {
                let bytes = bytes as *mut [::core::mem::MaybeUninit<u8>; 4];
                for (i, v) in ::core::iter::Iterator::enumerate(values.iter()) {
                    ::planus::WriteAsPrimitive::write(
                        v,
                        ::planus::Cursor::new(unsafe { &mut *bytes.add(i) }),
                        buffer_position - (Self::STRIDE * i) as u32,
                    );
                }
            }
        }

        impl<'a> ::planus::ReadAsRoot<'a> for SubGraphRef<'a> {
            fn read_as_root(slice: &'a [u8]) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(
                    ::planus::SliceWithStartOffset {
                        buffer: slice,
                        offset_from_start: 0,
                    },
                    0,
                )
                .map_err(|error_kind| {
                    error_kind.with_error_location("[SubGraphRef]", "read_as_root", 0)
                })
            }
        }

        /// The table `Buffer` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Table `Buffer` in the file `schema.fbs:75`
        #[derive(
            Clone,
            Debug,
            PartialEq,
            PartialOrd,
            Eq,
            Ord,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
        )]
        pub struct Buffer {
            /// The field `data` in the table `Buffer`
            pub data: ::core::option::Option<::planus::alloc::vec::Vec<u8>>,
            /// The field `offset` in the table `Buffer`
            pub offset: u64,
            /// The field `size` in the table `Buffer`
            pub size: u64,
        }

        #[allow(clippy::derivable_impls)]
        impl ::core::default::Default for Buffer {
            fn default() -> Self {
                Self {
                    data: ::core::default::Default::default(),
                    offset: 0,
                    size: 0,
                }
            }
        }

        impl Buffer {
            /// Creates a [BufferBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> BufferBuilder<()> {
                BufferBuilder(())
            }

            #[allow(clippy::too_many_arguments)]
            pub fn create(
                builder: &mut ::planus::Builder,
                field_data: impl ::planus::WriteAsOptional<::planus::Offset<[u8]>>,
                field_offset: impl ::planus::WriteAsDefault<u64, u64>,
                field_size: impl ::planus::WriteAsDefault<u64, u64>,
            ) -> ::planus::Offset<Self> {
                let prepared_data = field_data.prepare(builder);
                let prepared_offset = field_offset.prepare(builder, &0);
                let prepared_size = field_size.prepare(builder, &0);

                let mut table_writer: ::planus::table_writer::TableWriter<10> =
                    ::core::default::Default::default();
                if prepared_offset.is_some() {
                    table_writer.write_entry::<u64>(1);
                }
                if prepared_size.is_some() {
                    table_writer.write_entry::<u64>(2);
                }
                if prepared_data.is_some() {
                    table_writer.write_entry::<::planus::Offset<[u8]>>(0);
                }

                unsafe {
                    table_writer.finish(builder, |object_writer| {
                        if let ::core::option::Option::Some(prepared_offset) = prepared_offset {
                            object_writer.write::<_, _, 8>(&prepared_offset);
                        }
                        if let ::core::option::Option::Some(prepared_size) = prepared_size {
                            object_writer.write::<_, _, 8>(&prepared_size);
                        }
                        if let ::core::option::Option::Some(prepared_data) = prepared_data {
                            object_writer.write::<_, _, 4>(&prepared_data);
                        }
                    });
                }
                builder.current_offset()
            }
        }

        impl ::planus::WriteAs<::planus::Offset<Buffer>> for Buffer {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Buffer> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl ::planus::WriteAsOptional<::planus::Offset<Buffer>> for Buffer {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<Buffer>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl ::planus::WriteAsOffset<Buffer> for Buffer {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Buffer> {
                Buffer::create(builder, &self.data, self.offset, self.size)
            }
        }

        /// Builder for serializing an instance of the [Buffer] type.
        ///
        /// Can be created using the [Buffer::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct BufferBuilder<State>(State);

        impl BufferBuilder<()> {
            /// Setter for the [`data` field](Buffer#structfield.data).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn data<T0>(self, value: T0) -> BufferBuilder<(T0,)>
            where
                T0: ::planus::WriteAsOptional<::planus::Offset<[u8]>>,
            {
                BufferBuilder((value,))
            }

            /// Sets the [`data` field](Buffer#structfield.data) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn data_as_null(self) -> BufferBuilder<((),)> {
                self.data(())
            }
        }

        impl<T0> BufferBuilder<(T0,)> {
            /// Setter for the [`offset` field](Buffer#structfield.offset).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn offset<T1>(self, value: T1) -> BufferBuilder<(T0, T1)>
            where
                T1: ::planus::WriteAsDefault<u64, u64>,
            {
                let (v0,) = self.0;
                BufferBuilder((v0, value))
            }

            /// Sets the [`offset` field](Buffer#structfield.offset) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn offset_as_default(self) -> BufferBuilder<(T0, ::planus::DefaultValue)> {
                self.offset(::planus::DefaultValue)
            }
        }

        impl<T0, T1> BufferBuilder<(T0, T1)> {
            /// Setter for the [`size` field](Buffer#structfield.size).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn size<T2>(self, value: T2) -> BufferBuilder<(T0, T1, T2)>
            where
                T2: ::planus::WriteAsDefault<u64, u64>,
            {
                let (v0, v1) = self.0;
                BufferBuilder((v0, v1, value))
            }

            /// Sets the [`size` field](Buffer#structfield.size) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn size_as_default(self) -> BufferBuilder<(T0, T1, ::planus::DefaultValue)> {
                self.size(::planus::DefaultValue)
            }
        }

        impl<T0, T1, T2> BufferBuilder<(T0, T1, T2)> {
            /// Finish writing the builder to get an [Offset](::planus::Offset) to a serialized [Buffer].
            #[inline]
            pub fn finish(self, builder: &mut ::planus::Builder) -> ::planus::Offset<Buffer>
            where
                Self: ::planus::WriteAsOffset<Buffer>,
            {
                ::planus::WriteAsOffset::prepare(&self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<[u8]>>,
                T1: ::planus::WriteAsDefault<u64, u64>,
                T2: ::planus::WriteAsDefault<u64, u64>,
            > ::planus::WriteAs<::planus::Offset<Buffer>> for BufferBuilder<(T0, T1, T2)>
        {
            type Prepared = ::planus::Offset<Buffer>;

            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Buffer> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<[u8]>>,
                T1: ::planus::WriteAsDefault<u64, u64>,
                T2: ::planus::WriteAsDefault<u64, u64>,
            > ::planus::WriteAsOptional<::planus::Offset<Buffer>> for BufferBuilder<(T0, T1, T2)>
        {
            type Prepared = ::planus::Offset<Buffer>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<Buffer>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<[u8]>>,
                T1: ::planus::WriteAsDefault<u64, u64>,
                T2: ::planus::WriteAsDefault<u64, u64>,
            > ::planus::WriteAsOffset<Buffer> for BufferBuilder<(T0, T1, T2)>
        {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Buffer> {
                let (v0, v1, v2) = &self.0;
                Buffer::create(builder, v0, v1, v2)
            }
        }

        /// Reference to a deserialized [Buffer].
        #[derive(Copy, Clone)]
        pub struct BufferRef<'a>(#[allow(dead_code)] ::planus::table_reader::Table<'a>);

        impl<'a> BufferRef<'a> {
            /// Getter for the [`data` field](Buffer#structfield.data).
            #[inline]
            pub fn data(&self) -> ::planus::Result<::core::option::Option<&'a [u8]>> {
                self.0.access(0, "Buffer", "data")
            }

            /// Getter for the [`offset` field](Buffer#structfield.offset).
            #[inline]
            pub fn offset(&self) -> ::planus::Result<u64> {
                ::core::result::Result::Ok(self.0.access(1, "Buffer", "offset")?.unwrap_or(0))
            }

            /// Getter for the [`size` field](Buffer#structfield.size).
            #[inline]
            pub fn size(&self) -> ::planus::Result<u64> {
                ::core::result::Result::Ok(self.0.access(2, "Buffer", "size")?.unwrap_or(0))
            }
        }

        impl<'a> ::core::fmt::Debug for BufferRef<'a> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut f = f.debug_struct("BufferRef");
                if let ::core::option::Option::Some(field_data) = self.data().transpose() {
                    f.field("data", &field_data);
                }
                f.field("offset", &self.offset());
                f.field("size", &self.size());
                f.finish()
            }
        }

        impl<'a> ::core::convert::TryFrom<BufferRef<'a>> for Buffer {
            type Error = ::planus::Error;

            #[allow(unreachable_code)]
            fn try_from(value: BufferRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(Self {
                    data: value.data()?.map(|v| v.to_vec()),
                    offset: ::core::convert::TryInto::try_into(value.offset()?)?,
                    size: ::core::convert::TryInto::try_into(value.size()?)?,
                })
            }
        }

        impl<'a> ::planus::TableRead<'a> for BufferRef<'a> {
            #[inline]
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                ::core::result::Result::Ok(Self(::planus::table_reader::Table::from_buffer(
                    buffer, offset,
                )?))
            }
        }

        impl<'a> ::planus::VectorReadInner<'a> for BufferRef<'a> {
            type Error = ::planus::Error;
            const STRIDE: usize = 4;

            unsafe fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(buffer, offset).map_err(|error_kind| {
                    error_kind.with_error_location("[BufferRef]", "get", buffer.offset_from_start)
                })
            }
        }

        /// # Safety
        /// The planus compiler generates implementations that initialize
        /// the bytes in `write_values`.
        unsafe impl ::planus::VectorWrite<::planus::Offset<Buffer>> for Buffer {
            type Value = ::planus::Offset<Buffer>;
            const STRIDE: usize = 4;
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> Self::Value {
                ::planus::WriteAs::prepare(self, builder)
            }

            #[inline]
            unsafe fn write_values(
                values: &[::planus::Offset<Buffer>],
                bytes: *mut ::core::mem::MaybeUninit<u8>,
                buffer_position: u32,
            ) {
                let bytes = bytes as *mut [::core::mem::MaybeUninit<u8>; 4];
                for (i, v) in ::core::iter::Iterator::enumerate(values.iter()) {
                    ::planus::WriteAsPrimitive::write(
                        v,
                        ::planus::Cursor::new(unsafe { &mut *bytes.add(i) }),
                        buffer_position - (Self::STRIDE * i) as u32,
                    );
                }
            }
        }

        impl<'a> ::planus::ReadAsRoot<'a> for BufferRef<'a> {
            fn read_as_root(slice: &'a [u8]) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(
                    ::planus::SliceWithStartOffset {
                        buffer: slice,
                        offset_from_start: 0,
                    },
                    0,
                )
                .map_err(|error_kind| {
                    error_kind.with_error_location("[BufferRef]", "read_as_root", 0)
                })
            }
        }

        /// The table `Metadata` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Table `Metadata` in the file `schema.fbs:82`
        #[derive(
            Clone,
            Debug,
            PartialEq,
            PartialOrd,
            Eq,
            Ord,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
        )]
        pub struct Metadata {
            /// The field `name` in the table `Metadata`
            pub name: ::core::option::Option<::planus::alloc::string::String>,
            /// The field `buffer` in the table `Metadata`
            pub buffer: u32,
        }

        #[allow(clippy::derivable_impls)]
        impl ::core::default::Default for Metadata {
            fn default() -> Self {
                Self {
                    name: ::core::default::Default::default(),
                    buffer: 0,
                }
            }
        }

        impl Metadata {
            /// Creates a [MetadataBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> MetadataBuilder<()> {
                MetadataBuilder(())
            }

            #[allow(clippy::too_many_arguments)]
            pub fn create(
                builder: &mut ::planus::Builder,
                field_name: impl ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
                field_buffer: impl ::planus::WriteAsDefault<u32, u32>,
            ) -> ::planus::Offset<Self> {
                let prepared_name = field_name.prepare(builder);
                let prepared_buffer = field_buffer.prepare(builder, &0);

                let mut table_writer: ::planus::table_writer::TableWriter<8> =
                    ::core::default::Default::default();
                if prepared_name.is_some() {
                    table_writer.write_entry::<::planus::Offset<str>>(0);
                }
                if prepared_buffer.is_some() {
                    table_writer.write_entry::<u32>(1);
                }

                unsafe {
                    table_writer.finish(builder, |object_writer| {
                        if let ::core::option::Option::Some(prepared_name) = prepared_name {
                            object_writer.write::<_, _, 4>(&prepared_name);
                        }
                        if let ::core::option::Option::Some(prepared_buffer) = prepared_buffer {
                            object_writer.write::<_, _, 4>(&prepared_buffer);
                        }
                    });
                }
                builder.current_offset()
            }
        }

        impl ::planus::WriteAs<::planus::Offset<Metadata>> for Metadata {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Metadata> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl ::planus::WriteAsOptional<::planus::Offset<Metadata>> for Metadata {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<Metadata>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl ::planus::WriteAsOffset<Metadata> for Metadata {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Metadata> {
                Metadata::create(builder, &self.name, self.buffer)
            }
        }

        /// Builder for serializing an instance of the [Metadata] type.
        ///
        /// Can be created using the [Metadata::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct MetadataBuilder<State>(State);

        impl MetadataBuilder<()> {
            /// Setter for the [`name` field](Metadata#structfield.name).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn name<T0>(self, value: T0) -> MetadataBuilder<(T0,)>
            where
                T0: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            {
                MetadataBuilder((value,))
            }

            /// Sets the [`name` field](Metadata#structfield.name) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn name_as_null(self) -> MetadataBuilder<((),)> {
                self.name(())
            }
        }

        impl<T0> MetadataBuilder<(T0,)> {
            /// Setter for the [`buffer` field](Metadata#structfield.buffer).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn buffer<T1>(self, value: T1) -> MetadataBuilder<(T0, T1)>
            where
                T1: ::planus::WriteAsDefault<u32, u32>,
            {
                let (v0,) = self.0;
                MetadataBuilder((v0, value))
            }

            /// Sets the [`buffer` field](Metadata#structfield.buffer) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn buffer_as_default(self) -> MetadataBuilder<(T0, ::planus::DefaultValue)> {
                self.buffer(::planus::DefaultValue)
            }
        }

        impl<T0, T1> MetadataBuilder<(T0, T1)> {
            /// Finish writing the builder to get an [Offset](::planus::Offset) to a serialized [Metadata].
            #[inline]
            pub fn finish(self, builder: &mut ::planus::Builder) -> ::planus::Offset<Metadata>
            where
                Self: ::planus::WriteAsOffset<Metadata>,
            {
                ::planus::WriteAsOffset::prepare(&self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
                T1: ::planus::WriteAsDefault<u32, u32>,
            > ::planus::WriteAs<::planus::Offset<Metadata>> for MetadataBuilder<(T0, T1)>
        {
            type Prepared = ::planus::Offset<Metadata>;

            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Metadata> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
                T1: ::planus::WriteAsDefault<u32, u32>,
            > ::planus::WriteAsOptional<::planus::Offset<Metadata>> for MetadataBuilder<(T0, T1)>
        {
            type Prepared = ::planus::Offset<Metadata>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<Metadata>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl<
                T0: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
                T1: ::planus::WriteAsDefault<u32, u32>,
            > ::planus::WriteAsOffset<Metadata> for MetadataBuilder<(T0, T1)>
        {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Metadata> {
                let (v0, v1) = &self.0;
                Metadata::create(builder, v0, v1)
            }
        }

        /// Reference to a deserialized [Metadata].
        #[derive(Copy, Clone)]
        pub struct MetadataRef<'a>(#[allow(dead_code)] ::planus::table_reader::Table<'a>);

        impl<'a> MetadataRef<'a> {
            /// Getter for the [`name` field](Metadata#structfield.name).
            #[inline]
            pub fn name(
                &self,
            ) -> ::planus::Result<::core::option::Option<&'a ::core::primitive::str>> {
                self.0.access(0, "Metadata", "name")
            }

            /// Getter for the [`buffer` field](Metadata#structfield.buffer).
            #[inline]
            pub fn buffer(&self) -> ::planus::Result<u32> {
                ::core::result::Result::Ok(self.0.access(1, "Metadata", "buffer")?.unwrap_or(0))
            }
        }

        impl<'a> ::core::fmt::Debug for MetadataRef<'a> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut f = f.debug_struct("MetadataRef");
                if let ::core::option::Option::Some(field_name) = self.name().transpose() {
                    f.field("name", &field_name);
                }
                f.field("buffer", &self.buffer());
                f.finish()
            }
        }

        impl<'a> ::core::convert::TryFrom<MetadataRef<'a>> for Metadata {
            type Error = ::planus::Error;

            #[allow(unreachable_code)]
            fn try_from(value: MetadataRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(Self {
                    name: value.name()?.map(::core::convert::Into::into),
                    buffer: ::core::convert::TryInto::try_into(value.buffer()?)?,
                })
            }
        }

        impl<'a> ::planus::TableRead<'a> for MetadataRef<'a> {
            #[inline]
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                ::core::result::Result::Ok(Self(::planus::table_reader::Table::from_buffer(
                    buffer, offset,
                )?))
            }
        }

        impl<'a> ::planus::VectorReadInner<'a> for MetadataRef<'a> {
            type Error = ::planus::Error;
            const STRIDE: usize = 4;

            unsafe fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(buffer, offset).map_err(|error_kind| {
                    error_kind.with_error_location("[MetadataRef]", "get", buffer.offset_from_start)
                })
            }
        }

        /// # Safety
        /// The planus compiler generates implementations that initialize
        /// the bytes in `write_values`.
        unsafe impl ::planus::VectorWrite<::planus::Offset<Metadata>> for Metadata {
            type Value = ::planus::Offset<Metadata>;
            const STRIDE: usize = 4;
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> Self::Value {
                ::planus::WriteAs::prepare(self, builder)
            }

            #[inline]
            unsafe fn write_values(
                values: &[::planus::Offset<Metadata>],
                bytes: *mut ::core::mem::MaybeUninit<u8>,
                buffer_position: u32,
            ) {
                let bytes = bytes as *mut [::core::mem::MaybeUninit<u8>; 4];
                for (i, v) in ::core::iter::Iterator::enumerate(values.iter()) {
                    ::planus::WriteAsPrimitive::write(
                        v,
                        ::planus::Cursor::new(unsafe { &mut *bytes.add(i) }),
                        buffer_position - (Self::STRIDE * i) as u32,
                    );
                }
            }
        }

        impl<'a> ::planus::ReadAsRoot<'a> for MetadataRef<'a> {
            fn read_as_root(slice: &'a [u8]) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(
                    ::planus::SliceWithStartOffset {
                        buffer: slice,
                        offset_from_start: 0,
                    },
                    0,
                )
                .map_err(|error_kind| {
                    error_kind.with_error_location("[MetadataRef]", "read_as_root", 0)
                })
            }
        }

        /// The table `ExternalBufferGroup` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Table `ExternalBufferGroup` in the file `schema.fbs:87`
        #[derive(
            Clone,
            Debug,
            PartialEq,
            PartialOrd,
            Eq,
            Ord,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
        )]
        pub struct ExternalBufferGroup {
            /// The field `name` in the table `ExternalBufferGroup`
            pub name: ::core::option::Option<::planus::alloc::string::String>,
        }

        #[allow(clippy::derivable_impls)]
        impl ::core::default::Default for ExternalBufferGroup {
            fn default() -> Self {
                Self {
                    name: ::core::default::Default::default(),
                }
            }
        }

        impl ExternalBufferGroup {
            /// Creates a [ExternalBufferGroupBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> ExternalBufferGroupBuilder<()> {
                ExternalBufferGroupBuilder(())
            }

            #[allow(clippy::too_many_arguments)]
            pub fn create(
                builder: &mut ::planus::Builder,
                field_name: impl ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            ) -> ::planus::Offset<Self> {
                let prepared_name = field_name.prepare(builder);

                let mut table_writer: ::planus::table_writer::TableWriter<6> =
                    ::core::default::Default::default();
                if prepared_name.is_some() {
                    table_writer.write_entry::<::planus::Offset<str>>(0);
                }

                unsafe {
                    table_writer.finish(builder, |object_writer| {
                        if let ::core::option::Option::Some(prepared_name) = prepared_name {
                            object_writer.write::<_, _, 4>(&prepared_name);
                        }
                    });
                }
                builder.current_offset()
            }
        }

        impl ::planus::WriteAs<::planus::Offset<ExternalBufferGroup>> for ExternalBufferGroup {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<ExternalBufferGroup> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl ::planus::WriteAsOptional<::planus::Offset<ExternalBufferGroup>> for ExternalBufferGroup {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<ExternalBufferGroup>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl ::planus::WriteAsOffset<ExternalBufferGroup> for ExternalBufferGroup {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<ExternalBufferGroup> {
                ExternalBufferGroup::create(builder, &self.name)
            }
        }

        /// Builder for serializing an instance of the [ExternalBufferGroup] type.
        ///
        /// Can be created using the [ExternalBufferGroup::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct ExternalBufferGroupBuilder<State>(State);

        impl ExternalBufferGroupBuilder<()> {
            /// Setter for the [`name` field](ExternalBufferGroup#structfield.name).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn name<T0>(self, value: T0) -> ExternalBufferGroupBuilder<(T0,)>
            where
                T0: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            {
                ExternalBufferGroupBuilder((value,))
            }

            /// Sets the [`name` field](ExternalBufferGroup#structfield.name) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn name_as_null(self) -> ExternalBufferGroupBuilder<((),)> {
                self.name(())
            }
        }

        impl<T0> ExternalBufferGroupBuilder<(T0,)> {
            /// Finish writing the builder to get an [Offset](::planus::Offset) to a serialized [ExternalBufferGroup].
            #[inline]
            pub fn finish(
                self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<ExternalBufferGroup>
            where
                Self: ::planus::WriteAsOffset<ExternalBufferGroup>,
            {
                ::planus::WriteAsOffset::prepare(&self, builder)
            }
        }

        impl<T0: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>>
            ::planus::WriteAs<::planus::Offset<ExternalBufferGroup>>
            for ExternalBufferGroupBuilder<(T0,)>
        {
            type Prepared = ::planus::Offset<ExternalBufferGroup>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<ExternalBufferGroup> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl<T0: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>>
            ::planus::WriteAsOptional<::planus::Offset<ExternalBufferGroup>>
            for ExternalBufferGroupBuilder<(T0,)>
        {
            type Prepared = ::planus::Offset<ExternalBufferGroup>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<ExternalBufferGroup>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl<T0: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>>
            ::planus::WriteAsOffset<ExternalBufferGroup> for ExternalBufferGroupBuilder<(T0,)>
        {
            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::planus::Offset<ExternalBufferGroup> {
                let (v0,) = &self.0;
                ExternalBufferGroup::create(builder, v0)
            }
        }

        /// Reference to a deserialized [ExternalBufferGroup].
        #[derive(Copy, Clone)]
        pub struct ExternalBufferGroupRef<'a>(
            #[allow(dead_code)] ::planus::table_reader::Table<'a>,
        );

        impl<'a> ExternalBufferGroupRef<'a> {
            /// Getter for the [`name` field](ExternalBufferGroup#structfield.name).
            #[inline]
            pub fn name(
                &self,
            ) -> ::planus::Result<::core::option::Option<&'a ::core::primitive::str>> {
                self.0.access(0, "ExternalBufferGroup", "name")
            }
        }

        impl<'a> ::core::fmt::Debug for ExternalBufferGroupRef<'a> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut f = f.debug_struct("ExternalBufferGroupRef");
                if let ::core::option::Option::Some(field_name) = self.name().transpose() {
                    f.field("name", &field_name);
                }
                f.finish()
            }
        }

        impl<'a> ::core::convert::TryFrom<ExternalBufferGroupRef<'a>> for ExternalBufferGroup {
            type Error = ::planus::Error;

            #[allow(unreachable_code)]
            fn try_from(value: ExternalBufferGroupRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(Self {
                    name: value.name()?.map(::core::convert::Into::into),
                })
            }
        }

        impl<'a> ::planus::TableRead<'a> for ExternalBufferGroupRef<'a> {
            #[inline]
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                ::core::result::Result::Ok(Self(::planus::table_reader::Table::from_buffer(
                    buffer, offset,
                )?))
            }
        }

        impl<'a> ::planus::VectorReadInner<'a> for ExternalBufferGroupRef<'a> {
            type Error = ::planus::Error;
            const STRIDE: usize = 4;

            unsafe fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(buffer, offset).map_err(|error_kind| {
                    error_kind.with_error_location(
                        "[ExternalBufferGroupRef]",
                        "get",
                        buffer.offset_from_start,
                    )
                })
            }
        }

        /// # Safety
        /// The planus compiler generates implementations that initialize
        /// the bytes in `write_values`.
        unsafe impl ::planus::VectorWrite<::planus::Offset<ExternalBufferGroup>> for ExternalBufferGroup {
            type Value = ::planus::Offset<ExternalBufferGroup>;
            const STRIDE: usize = 4;
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> Self::Value {
                ::planus::WriteAs::prepare(self, builder)
            }

            #[inline]
            unsafe fn write_values(
                values: &[::planus::Offset<ExternalBufferGroup>],
                bytes: *mut ::core::mem::MaybeUninit<u8>,
                buffer_position: u32,
            ) {
                let bytes = bytes as *mut [::core::mem::MaybeUninit<u8>; 4];
                for (i, v) in ::core::iter::Iterator::enumerate(values.iter()) {
                    ::planus::WriteAsPrimitive::write(
                        v,
                        ::planus::Cursor::new(unsafe { &mut *bytes.add(i) }),
                        buffer_position - (Self::STRIDE * i) as u32,
                    );
                }
            }
        }

        impl<'a> ::planus::ReadAsRoot<'a> for ExternalBufferGroupRef<'a> {
            fn read_as_root(slice: &'a [u8]) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(
                    ::planus::SliceWithStartOffset {
                        buffer: slice,
                        offset_from_start: 0,
                    },
                    0,
                )
                .map_err(|error_kind| {
                    error_kind.with_error_location("[ExternalBufferGroupRef]", "read_as_root", 0)
                })
            }
        }

        /// The table `ExternalBuffer` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Table `ExternalBuffer` in the file `schema.fbs:91`
        #[derive(
            Clone,
            Debug,
            PartialEq,
            PartialOrd,
            Eq,
            Ord,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
        )]
        pub struct ExternalBuffer {
            /// The field `id` in the table `ExternalBuffer`
            pub id: u32,
            /// The field `group` in the table `ExternalBuffer`
            pub group: u32,
            /// The field `offset` in the table `ExternalBuffer`
            pub offset: u64,
            /// The field `length` in the table `ExternalBuffer`
            pub length: u64,
            /// The field `packing` in the table `ExternalBuffer`
            pub packing: ::core::option::Option<::planus::alloc::string::String>,
        }

        #[allow(clippy::derivable_impls)]
        impl ::core::default::Default for ExternalBuffer {
            fn default() -> Self {
                Self {
                    id: 0,
                    group: 0,
                    offset: 0,
                    length: 0,
                    packing: ::core::default::Default::default(),
                }
            }
        }

        impl ExternalBuffer {
            /// Creates a [ExternalBufferBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> ExternalBufferBuilder<()> {
                ExternalBufferBuilder(())
            }

            #[allow(clippy::too_many_arguments)]
            pub fn create(
                builder: &mut ::planus::Builder,
                field_id: impl ::planus::WriteAsDefault<u32, u32>,
                field_group: impl ::planus::WriteAsDefault<u32, u32>,
                field_offset: impl ::planus::WriteAsDefault<u64, u64>,
                field_length: impl ::planus::WriteAsDefault<u64, u64>,
                field_packing: impl ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            ) -> ::planus::Offset<Self> {
                let prepared_id = field_id.prepare(builder, &0);
                let prepared_group = field_group.prepare(builder, &0);
                let prepared_offset = field_offset.prepare(builder, &0);
                let prepared_length = field_length.prepare(builder, &0);
                let prepared_packing = field_packing.prepare(builder);

                let mut table_writer: ::planus::table_writer::TableWriter<14> =
                    ::core::default::Default::default();
                if prepared_offset.is_some() {
                    table_writer.write_entry::<u64>(2);
                }
                if prepared_length.is_some() {
                    table_writer.write_entry::<u64>(3);
                }
                if prepared_id.is_some() {
                    table_writer.write_entry::<u32>(0);
                }
                if prepared_group.is_some() {
                    table_writer.write_entry::<u32>(1);
                }
                if prepared_packing.is_some() {
                    table_writer.write_entry::<::planus::Offset<str>>(4);
                }

                unsafe {
                    table_writer.finish(builder, |object_writer| {
                        if let ::core::option::Option::Some(prepared_offset) = prepared_offset {
                            object_writer.write::<_, _, 8>(&prepared_offset);
                        }
                        if let ::core::option::Option::Some(prepared_length) = prepared_length {
                            object_writer.write::<_, _, 8>(&prepared_length);
                        }
                        if let ::core::option::Option::Some(prepared_id) = prepared_id {
                            object_writer.write::<_, _, 4>(&prepared_id);
                        }
                        if let ::core::option::Option::Some(prepared_group) = prepared_group {
                            object_writer.write::<_, _, 4>(&prepared_group);
                        }
                        if let ::core::option::Option::Some(prepared_packing) = prepared_packing {
                            object_writer.write::<_, _, 4>(&prepared_packing);
                        }
                    });
                }
                builder.current_offset()
            }
        }

        impl ::planus::WriteAs<::planus::Offset<ExternalBuffer>> for ExternalBuffer {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<ExternalBuffer> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl ::planus::WriteAsOptional<::planus::Offset<ExternalBuffer>> for ExternalBuffer {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<ExternalBuffer>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl ::planus::WriteAsOffset<ExternalBuffer> for ExternalBuffer {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<ExternalBuffer> {
                ExternalBuffer::create(
                    builder,
                    self.id,
                    self.group,
                    self.offset,
                    self.length,
                    &self.packing,
                )
            }
        }

        /// Builder for serializing an instance of the [ExternalBuffer] type.
        ///
        /// Can be created using the [ExternalBuffer::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct ExternalBufferBuilder<State>(State);

        impl ExternalBufferBuilder<()> {
            /// Setter for the [`id` field](ExternalBuffer#structfield.id).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn id<T0>(self, value: T0) -> ExternalBufferBuilder<(T0,)>
            where
                T0: ::planus::WriteAsDefault<u32, u32>,
            {
                ExternalBufferBuilder((value,))
            }

            /// Sets the [`id` field](ExternalBuffer#structfield.id) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn id_as_default(self) -> ExternalBufferBuilder<(::planus::DefaultValue,)> {
                self.id(::planus::DefaultValue)
            }
        }

        impl<T0> ExternalBufferBuilder<(T0,)> {
            /// Setter for the [`group` field](ExternalBuffer#structfield.group).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn group<T1>(self, value: T1) -> ExternalBufferBuilder<(T0, T1)>
            where
                T1: ::planus::WriteAsDefault<u32, u32>,
            {
                let (v0,) = self.0;
                ExternalBufferBuilder((v0, value))
            }

            /// Sets the [`group` field](ExternalBuffer#structfield.group) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn group_as_default(self) -> ExternalBufferBuilder<(T0, ::planus::DefaultValue)> {
                self.group(::planus::DefaultValue)
            }
        }

        impl<T0, T1> ExternalBufferBuilder<(T0, T1)> {
            /// Setter for the [`offset` field](ExternalBuffer#structfield.offset).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn offset<T2>(self, value: T2) -> ExternalBufferBuilder<(T0, T1, T2)>
            where
                T2: ::planus::WriteAsDefault<u64, u64>,
            {
                let (v0, v1) = self.0;
                ExternalBufferBuilder((v0, v1, value))
            }

            /// Sets the [`offset` field](ExternalBuffer#structfield.offset) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn offset_as_default(
                self,
            ) -> ExternalBufferBuilder<(T0, T1, ::planus::DefaultValue)> {
                self.offset(::planus::DefaultValue)
            }
        }

        impl<T0, T1, T2> ExternalBufferBuilder<(T0, T1, T2)> {
            /// Setter for the [`length` field](ExternalBuffer#structfield.length).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn length<T3>(self, value: T3) -> ExternalBufferBuilder<(T0, T1, T2, T3)>
            where
                T3: ::planus::WriteAsDefault<u64, u64>,
            {
                let (v0, v1, v2) = self.0;
                ExternalBufferBuilder((v0, v1, v2, value))
            }

            /// Sets the [`length` field](ExternalBuffer#structfield.length) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn length_as_default(
                self,
            ) -> ExternalBufferBuilder<(T0, T1, T2, ::planus::DefaultValue)> {
                self.length(::planus::DefaultValue)
            }
        }

        impl<T0, T1, T2, T3> ExternalBufferBuilder<(T0, T1, T2, T3)> {
            /// Setter for the [`packing` field](ExternalBuffer#structfield.packing).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn packing<T4>(self, value: T4) -> ExternalBufferBuilder<(T0, T1, T2, T3, T4)>
            where
                T4: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            {
                let (v0, v1, v2, v3) = self.0;
                ExternalBufferBuilder((v0, v1, v2, v3, value))
            }

            /// Sets the [`packing` field](ExternalBuffer#structfield.packing) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn packing_as_null(self) -> ExternalBufferBuilder<(T0, T1, T2, T3, ())> {
                self.packing(())
            }
        }

        impl<T0, T1, T2, T3, T4> ExternalBufferBuilder<(T0, T1, T2, T3, T4)> {
            /// Finish writing the builder to get an [Offset](::planus::Offset) to a serialized [ExternalBuffer].
            #[inline]
            pub fn finish(self, builder: &mut ::planus::Builder) -> ::planus::Offset<ExternalBuffer>
            where
                Self: ::planus::WriteAsOffset<ExternalBuffer>,
            {
                ::planus::WriteAsOffset::prepare(&self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsDefault<u32, u32>,
                T1: ::planus::WriteAsDefault<u32, u32>,
                T2: ::planus::WriteAsDefault<u64, u64>,
                T3: ::planus::WriteAsDefault<u64, u64>,
                T4: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            > ::planus::WriteAs<::planus::Offset<ExternalBuffer>>
            for ExternalBufferBuilder<(T0, T1, T2, T3, T4)>
        {
            type Prepared = ::planus::Offset<ExternalBuffer>;

            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<ExternalBuffer> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsDefault<u32, u32>,
                T1: ::planus::WriteAsDefault<u32, u32>,
                T2: ::planus::WriteAsDefault<u64, u64>,
                T3: ::planus::WriteAsDefault<u64, u64>,
                T4: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            > ::planus::WriteAsOptional<::planus::Offset<ExternalBuffer>>
            for ExternalBufferBuilder<(T0, T1, T2, T3, T4)>
        {
            type Prepared = ::planus::Offset<ExternalBuffer>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<ExternalBuffer>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl<
                T0: ::planus::WriteAsDefault<u32, u32>,
                T1: ::planus::WriteAsDefault<u32, u32>,
                T2: ::planus::WriteAsDefault<u64, u64>,
                T3: ::planus::WriteAsDefault<u64, u64>,
                T4: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            > ::planus::WriteAsOffset<ExternalBuffer>
            for ExternalBufferBuilder<(T0, T1, T2, T3, T4)>
        {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<ExternalBuffer> {
                let (v0, v1, v2, v3, v4) = &self.0;
                ExternalBuffer::create(builder, v0, v1, v2, v3, v4)
            }
        }

        /// Reference to a deserialized [ExternalBuffer].
        #[derive(Copy, Clone)]
        pub struct ExternalBufferRef<'a>(#[allow(dead_code)] ::planus::table_reader::Table<'a>);

        impl<'a> ExternalBufferRef<'a> {
            /// Getter for the [`id` field](ExternalBuffer#structfield.id).
            #[inline]
            pub fn id(&self) -> ::planus::Result<u32> {
                ::core::result::Result::Ok(self.0.access(0, "ExternalBuffer", "id")?.unwrap_or(0))
            }

            /// Getter for the [`group` field](ExternalBuffer#structfield.group).
            #[inline]
            pub fn group(&self) -> ::planus::Result<u32> {
                ::core::result::Result::Ok(
                    self.0.access(1, "ExternalBuffer", "group")?.unwrap_or(0),
                )
            }

            /// Getter for the [`offset` field](ExternalBuffer#structfield.offset).
            #[inline]
            pub fn offset(&self) -> ::planus::Result<u64> {
                ::core::result::Result::Ok(
                    self.0.access(2, "ExternalBuffer", "offset")?.unwrap_or(0),
                )
            }

            /// Getter for the [`length` field](ExternalBuffer#structfield.length).
            #[inline]
            pub fn length(&self) -> ::planus::Result<u64> {
                ::core::result::Result::Ok(
                    self.0.access(3, "ExternalBuffer", "length")?.unwrap_or(0),
                )
            }

            /// Getter for the [`packing` field](ExternalBuffer#structfield.packing).
            #[inline]
            pub fn packing(
                &self,
            ) -> ::planus::Result<::core::option::Option<&'a ::core::primitive::str>> {
                self.0.access(4, "ExternalBuffer", "packing")
            }
        }

        impl<'a> ::core::fmt::Debug for ExternalBufferRef<'a> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut f = f.debug_struct("ExternalBufferRef");
                f.field("id", &self.id());
                f.field("group", &self.group());
                f.field("offset", &self.offset());
                f.field("length", &self.length());
                if let ::core::option::Option::Some(field_packing) = self.packing().transpose() {
                    f.field("packing", &field_packing);
                }
                f.finish()
            }
        }

        impl<'a> ::core::convert::TryFrom<ExternalBufferRef<'a>> for ExternalBuffer {
            type Error = ::planus::Error;

            #[allow(unreachable_code)]
            fn try_from(value: ExternalBufferRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(Self {
                    id: ::core::convert::TryInto::try_into(value.id()?)?,
                    group: ::core::convert::TryInto::try_into(value.group()?)?,
                    offset: ::core::convert::TryInto::try_into(value.offset()?)?,
                    length: ::core::convert::TryInto::try_into(value.length()?)?,
                    packing: value.packing()?.map(::core::convert::Into::into),
                })
            }
        }

        impl<'a> ::planus::TableRead<'a> for ExternalBufferRef<'a> {
            #[inline]
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                ::core::result::Result::Ok(Self(::planus::table_reader::Table::from_buffer(
                    buffer, offset,
                )?))
            }
        }

        impl<'a> ::planus::VectorReadInner<'a> for ExternalBufferRef<'a> {
            type Error = ::planus::Error;
            const STRIDE: usize = 4;

            unsafe fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(buffer, offset).map_err(|error_kind| {
                    error_kind.with_error_location(
                        "[ExternalBufferRef]",
                        "get",
                        buffer.offset_from_start,
                    )
                })
            }
        }

        /// # Safety
        /// The planus compiler generates implementations that initialize
        /// the bytes in `write_values`.
        unsafe impl ::planus::VectorWrite<::planus::Offset<ExternalBuffer>> for ExternalBuffer {
            type Value = ::planus::Offset<ExternalBuffer>;
            const STRIDE: usize = 4;
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> Self::Value {
                ::planus::WriteAs::prepare(self, builder)
            }

            #[inline]
            unsafe fn write_values(
                values: &[::planus::Offset<ExternalBuffer>],
                bytes: *mut ::core::mem::MaybeUninit<u8>,
                buffer_position: u32,
            ) {
                let bytes = bytes as *mut [::core::mem::MaybeUninit<u8>; 4];
                for (i, v) in ::core::iter::Iterator::enumerate(values.iter()) {
                    ::planus::WriteAsPrimitive::write(
                        v,
                        ::planus::Cursor::new(unsafe { &mut *bytes.add(i) }),
                        buffer_position - (Self::STRIDE * i) as u32,
                    );
                }
            }
        }

        impl<'a> ::planus::ReadAsRoot<'a> for ExternalBufferRef<'a> {
            fn read_as_root(slice: &'a [u8]) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(
                    ::planus::SliceWithStartOffset {
                        buffer: slice,
                        offset_from_start: 0,
                    },
                    0,
                )
                .map_err(|error_kind| {
                    error_kind.with_error_location("[ExternalBufferRef]", "read_as_root", 0)
                })
            }
        }

        /// The table `Model` in the namespace `tflite`
        ///
        /// Generated from these locations:
        /// * Table `Model` in the file `schema.fbs:99`
        #[derive(Clone, Debug, PartialEq, PartialOrd, ::serde::Serialize, ::serde::Deserialize)]
        pub struct Model {
            /// The field `version` in the table `Model`
            pub version: u32,
            /// The field `subgraphs` in the table `Model`
            pub subgraphs: ::core::option::Option<::planus::alloc::vec::Vec<self::SubGraph>>,
            /// The field `description` in the table `Model`
            pub description: ::core::option::Option<::planus::alloc::string::String>,
            /// The field `buffers` in the table `Model`
            pub buffers: ::core::option::Option<::planus::alloc::vec::Vec<self::Buffer>>,
            /// The field `metadata_buffer` in the table `Model`
            pub metadata_buffer: ::core::option::Option<::planus::alloc::vec::Vec<i32>>,
            /// The field `metadata` in the table `Model`
            pub metadata: ::core::option::Option<::planus::alloc::vec::Vec<self::Metadata>>,
            /// The field `external_buffer_groups` in the table `Model`
            pub external_buffer_groups:
                ::core::option::Option<::planus::alloc::vec::Vec<self::ExternalBufferGroup>>,
            /// The field `external_buffers` in the table `Model`
            pub external_buffers:
                ::core::option::Option<::planus::alloc::vec::Vec<self::ExternalBuffer>>,
        }

        #[allow(clippy::derivable_impls)]
        impl ::core::default::Default for Model {
            fn default() -> Self {
                Self {
                    version: 0,
                    subgraphs: ::core::default::Default::default(),
                    description: ::core::default::Default::default(),
                    buffers: ::core::default::Default::default(),
                    metadata_buffer: ::core::default::Default::default(),
                    metadata: ::core::default::Default::default(),
                    external_buffer_groups: ::core::default::Default::default(),
                    external_buffers: ::core::default::Default::default(),
                }
            }
        }

        impl Model {
            /// Creates a [ModelBuilder] for serializing an instance of this table.
            #[inline]
            pub fn builder() -> ModelBuilder<()> {
                ModelBuilder(())
            }

            #[allow(clippy::too_many_arguments)]
            pub fn create(
                builder: &mut ::planus::Builder,
                field_version: impl ::planus::WriteAsDefault<u32, u32>,
                field_subgraphs: impl ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::SubGraph>]>,
                >,
                field_description: impl ::planus::WriteAsOptional<
                    ::planus::Offset<::core::primitive::str>,
                >,
                field_buffers: impl ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::Buffer>]>,
                >,
                field_metadata_buffer: impl ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
                field_metadata: impl ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::Metadata>]>,
                >,
                field_external_buffer_groups: impl ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::ExternalBufferGroup>]>,
                >,
                field_external_buffers: impl ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::ExternalBuffer>]>,
                >,
            ) -> ::planus::Offset<Self> {
                let prepared_version = field_version.prepare(builder, &0);
                let prepared_subgraphs = field_subgraphs.prepare(builder);
                let prepared_description = field_description.prepare(builder);
                let prepared_buffers = field_buffers.prepare(builder);
                let prepared_metadata_buffer = field_metadata_buffer.prepare(builder);
                let prepared_metadata = field_metadata.prepare(builder);
                let prepared_external_buffer_groups = field_external_buffer_groups.prepare(builder);
                let prepared_external_buffers = field_external_buffers.prepare(builder);

                let mut table_writer: ::planus::table_writer::TableWriter<24> =
                    ::core::default::Default::default();
                if prepared_version.is_some() {
                    table_writer.write_entry::<u32>(0);
                }
                if prepared_subgraphs.is_some() {
                    table_writer
                        .write_entry::<::planus::Offset<[::planus::Offset<self::SubGraph>]>>(2);
                }
                if prepared_description.is_some() {
                    table_writer.write_entry::<::planus::Offset<str>>(3);
                }
                if prepared_buffers.is_some() {
                    table_writer
                        .write_entry::<::planus::Offset<[::planus::Offset<self::Buffer>]>>(4);
                }
                if prepared_metadata_buffer.is_some() {
                    table_writer.write_entry::<::planus::Offset<[i32]>>(5);
                }
                if prepared_metadata.is_some() {
                    table_writer
                        .write_entry::<::planus::Offset<[::planus::Offset<self::Metadata>]>>(6);
                }
                if prepared_external_buffer_groups.is_some() {
                    table_writer.write_entry::<::planus::Offset<[::planus::Offset<self::ExternalBufferGroup>]>>(8);
                }
                if prepared_external_buffers.is_some() {
                    table_writer
                        .write_entry::<::planus::Offset<[::planus::Offset<self::ExternalBuffer>]>>(
                            9,
                        );
                }

                unsafe {
                    table_writer.finish(builder, |object_writer| {
                        if let ::core::option::Option::Some(prepared_version) = prepared_version {
                            object_writer.write::<_, _, 4>(&prepared_version);
                        }
                        if let ::core::option::Option::Some(prepared_subgraphs) = prepared_subgraphs
                        {
                            object_writer.write::<_, _, 4>(&prepared_subgraphs);
                        }
                        if let ::core::option::Option::Some(prepared_description) =
                            prepared_description
                        {
                            object_writer.write::<_, _, 4>(&prepared_description);
                        }
                        if let ::core::option::Option::Some(prepared_buffers) = prepared_buffers {
                            object_writer.write::<_, _, 4>(&prepared_buffers);
                        }
                        if let ::core::option::Option::Some(prepared_metadata_buffer) =
                            prepared_metadata_buffer
                        {
                            object_writer.write::<_, _, 4>(&prepared_metadata_buffer);
                        }
                        if let ::core::option::Option::Some(prepared_metadata) = prepared_metadata {
                            object_writer.write::<_, _, 4>(&prepared_metadata);
                        }
                        if let ::core::option::Option::Some(prepared_external_buffer_groups) =
                            prepared_external_buffer_groups
                        {
                            object_writer.write::<_, _, 4>(&prepared_external_buffer_groups);
                        }
                        if let ::core::option::Option::Some(prepared_external_buffers) =
                            prepared_external_buffers
                        {
                            object_writer.write::<_, _, 4>(&prepared_external_buffers);
                        }
                    });
                }
                builder.current_offset()
            }
        }

        impl ::planus::WriteAs<::planus::Offset<Model>> for Model {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Model> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl ::planus::WriteAsOptional<::planus::Offset<Model>> for Model {
            type Prepared = ::planus::Offset<Self>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<Model>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl ::planus::WriteAsOffset<Model> for Model {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Model> {
                Model::create(
                    builder,
                    self.version,
                    &self.subgraphs,
                    &self.description,
                    &self.buffers,
                    &self.metadata_buffer,
                    &self.metadata,
                    &self.external_buffer_groups,
                    &self.external_buffers,
                )
            }
        }

        /// Builder for serializing an instance of the [Model] type.
        ///
        /// Can be created using the [Model::builder] method.
        #[derive(Debug)]
        #[must_use]
        pub struct ModelBuilder<State>(State);

        impl ModelBuilder<()> {
            /// Setter for the [`version` field](Model#structfield.version).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn version<T0>(self, value: T0) -> ModelBuilder<(T0,)>
            where
                T0: ::planus::WriteAsDefault<u32, u32>,
            {
                ModelBuilder((value,))
            }

            /// Sets the [`version` field](Model#structfield.version) to the default value.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn version_as_default(self) -> ModelBuilder<(::planus::DefaultValue,)> {
                self.version(::planus::DefaultValue)
            }
        }

        impl<T0> ModelBuilder<(T0,)> {
            /// Setter for the [`subgraphs` field](Model#structfield.subgraphs).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn subgraphs<T1>(self, value: T1) -> ModelBuilder<(T0, T1)>
            where
                T1: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::SubGraph>]>>,
            {
                let (v0,) = self.0;
                ModelBuilder((v0, value))
            }

            /// Sets the [`subgraphs` field](Model#structfield.subgraphs) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn subgraphs_as_null(self) -> ModelBuilder<(T0, ())> {
                self.subgraphs(())
            }
        }

        impl<T0, T1> ModelBuilder<(T0, T1)> {
            /// Setter for the [`description` field](Model#structfield.description).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn description<T2>(self, value: T2) -> ModelBuilder<(T0, T1, T2)>
            where
                T2: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
            {
                let (v0, v1) = self.0;
                ModelBuilder((v0, v1, value))
            }

            /// Sets the [`description` field](Model#structfield.description) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn description_as_null(self) -> ModelBuilder<(T0, T1, ())> {
                self.description(())
            }
        }

        impl<T0, T1, T2> ModelBuilder<(T0, T1, T2)> {
            /// Setter for the [`buffers` field](Model#structfield.buffers).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn buffers<T3>(self, value: T3) -> ModelBuilder<(T0, T1, T2, T3)>
            where
                T3: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::Buffer>]>>,
            {
                let (v0, v1, v2) = self.0;
                ModelBuilder((v0, v1, v2, value))
            }

            /// Sets the [`buffers` field](Model#structfield.buffers) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn buffers_as_null(self) -> ModelBuilder<(T0, T1, T2, ())> {
                self.buffers(())
            }
        }

        impl<T0, T1, T2, T3> ModelBuilder<(T0, T1, T2, T3)> {
            /// Setter for the [`metadata_buffer` field](Model#structfield.metadata_buffer).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn metadata_buffer<T4>(self, value: T4) -> ModelBuilder<(T0, T1, T2, T3, T4)>
            where
                T4: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
            {
                let (v0, v1, v2, v3) = self.0;
                ModelBuilder((v0, v1, v2, v3, value))
            }

            /// Sets the [`metadata_buffer` field](Model#structfield.metadata_buffer) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn metadata_buffer_as_null(self) -> ModelBuilder<(T0, T1, T2, T3, ())> {
                self.metadata_buffer(())
            }
        }

        impl<T0, T1, T2, T3, T4> ModelBuilder<(T0, T1, T2, T3, T4)> {
            /// Setter for the [`metadata` field](Model#structfield.metadata).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn metadata<T5>(self, value: T5) -> ModelBuilder<(T0, T1, T2, T3, T4, T5)>
            where
                T5: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::Metadata>]>>,
            {
                let (v0, v1, v2, v3, v4) = self.0;
                ModelBuilder((v0, v1, v2, v3, v4, value))
            }

            /// Sets the [`metadata` field](Model#structfield.metadata) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn metadata_as_null(self) -> ModelBuilder<(T0, T1, T2, T3, T4, ())> {
                self.metadata(())
            }
        }

        impl<T0, T1, T2, T3, T4, T5> ModelBuilder<(T0, T1, T2, T3, T4, T5)> {
            /// Setter for the [`external_buffer_groups` field](Model#structfield.external_buffer_groups).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn external_buffer_groups<T6>(
                self,
                value: T6,
            ) -> ModelBuilder<(T0, T1, T2, T3, T4, T5, T6)>
            where
                T6: ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::ExternalBufferGroup>]>,
                >,
            {
                let (v0, v1, v2, v3, v4, v5) = self.0;
                ModelBuilder((v0, v1, v2, v3, v4, v5, value))
            }

            /// Sets the [`external_buffer_groups` field](Model#structfield.external_buffer_groups) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn external_buffer_groups_as_null(
                self,
            ) -> ModelBuilder<(T0, T1, T2, T3, T4, T5, ())> {
                self.external_buffer_groups(())
            }
        }

        impl<T0, T1, T2, T3, T4, T5, T6> ModelBuilder<(T0, T1, T2, T3, T4, T5, T6)> {
            /// Setter for the [`external_buffers` field](Model#structfield.external_buffers).
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn external_buffers<T7>(
                self,
                value: T7,
            ) -> ModelBuilder<(T0, T1, T2, T3, T4, T5, T6, T7)>
            where
                T7: ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::ExternalBuffer>]>,
                >,
            {
                let (v0, v1, v2, v3, v4, v5, v6) = self.0;
                ModelBuilder((v0, v1, v2, v3, v4, v5, v6, value))
            }

            /// Sets the [`external_buffers` field](Model#structfield.external_buffers) to null.
            #[inline]
            #[allow(clippy::type_complexity)]
            pub fn external_buffers_as_null(
                self,
            ) -> ModelBuilder<(T0, T1, T2, T3, T4, T5, T6, ())> {
                self.external_buffers(())
            }
        }

        impl<T0, T1, T2, T3, T4, T5, T6, T7> ModelBuilder<(T0, T1, T2, T3, T4, T5, T6, T7)> {
            /// Finish writing the builder to get an [Offset](::planus::Offset) to a serialized [Model].
            #[inline]
            pub fn finish(self, builder: &mut ::planus::Builder) -> ::planus::Offset<Model>
            where
                Self: ::planus::WriteAsOffset<Model>,
            {
                ::planus::WriteAsOffset::prepare(&self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsDefault<u32, u32>,
                T1: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::SubGraph>]>>,
                T2: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
                T3: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::Buffer>]>>,
                T4: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
                T5: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::Metadata>]>>,
                T6: ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::ExternalBufferGroup>]>,
                >,
                T7: ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::ExternalBuffer>]>,
                >,
            > ::planus::WriteAs<::planus::Offset<Model>>
            for ModelBuilder<(T0, T1, T2, T3, T4, T5, T6, T7)>
        {
            type Prepared = ::planus::Offset<Model>;

            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Model> {
                ::planus::WriteAsOffset::prepare(self, builder)
            }
        }

        impl<
                T0: ::planus::WriteAsDefault<u32, u32>,
                T1: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::SubGraph>]>>,
                T2: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
                T3: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::Buffer>]>>,
                T4: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
                T5: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::Metadata>]>>,
                T6: ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::ExternalBufferGroup>]>,
                >,
                T7: ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::ExternalBuffer>]>,
                >,
            > ::planus::WriteAsOptional<::planus::Offset<Model>>
            for ModelBuilder<(T0, T1, T2, T3, T4, T5, T6, T7)>
        {
            type Prepared = ::planus::Offset<Model>;

            #[inline]
            fn prepare(
                &self,
                builder: &mut ::planus::Builder,
            ) -> ::core::option::Option<::planus::Offset<Model>> {
                ::core::option::Option::Some(::planus::WriteAsOffset::prepare(self, builder))
            }
        }

        impl<
                T0: ::planus::WriteAsDefault<u32, u32>,
                T1: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::SubGraph>]>>,
                T2: ::planus::WriteAsOptional<::planus::Offset<::core::primitive::str>>,
                T3: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::Buffer>]>>,
                T4: ::planus::WriteAsOptional<::planus::Offset<[i32]>>,
                T5: ::planus::WriteAsOptional<::planus::Offset<[::planus::Offset<self::Metadata>]>>,
                T6: ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::ExternalBufferGroup>]>,
                >,
                T7: ::planus::WriteAsOptional<
                    ::planus::Offset<[::planus::Offset<self::ExternalBuffer>]>,
                >,
            > ::planus::WriteAsOffset<Model> for ModelBuilder<(T0, T1, T2, T3, T4, T5, T6, T7)>
        {
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> ::planus::Offset<Model> {
                let (v0, v1, v2, v3, v4, v5, v6, v7) = &self.0;
                Model::create(builder, v0, v1, v2, v3, v4, v5, v6, v7)
            }
        }

        /// Reference to a deserialized [Model].
        #[derive(Copy, Clone)]
        pub struct ModelRef<'a>(#[allow(dead_code)] ::planus::table_reader::Table<'a>);

        impl<'a> ModelRef<'a> {
            /// Getter for the [`version` field](Model#structfield.version).
            #[inline]
            pub fn version(&self) -> ::planus::Result<u32> {
                ::core::result::Result::Ok(self.0.access(0, "Model", "version")?.unwrap_or(0))
            }

            /// Getter for the [`subgraphs` field](Model#structfield.subgraphs).
            #[inline]
            pub fn subgraphs(
                &self,
            ) -> ::planus::Result<
                ::core::option::Option<
                    ::planus::Vector<'a, ::planus::Result<self::SubGraphRef<'a>>>,
                >,
            > {
                self.0.access(2, "Model", "subgraphs")
            }

            /// Getter for the [`description` field](Model#structfield.description).
            #[inline]
            pub fn description(
                &self,
            ) -> ::planus::Result<::core::option::Option<&'a ::core::primitive::str>> {
                self.0.access(3, "Model", "description")
            }

            /// Getter for the [`buffers` field](Model#structfield.buffers).
            #[inline]
            pub fn buffers(
                &self,
            ) -> ::planus::Result<
                ::core::option::Option<::planus::Vector<'a, ::planus::Result<self::BufferRef<'a>>>>,
            > {
                self.0.access(4, "Model", "buffers")
            }

            /// Getter for the [`metadata_buffer` field](Model#structfield.metadata_buffer).
            #[inline]
            pub fn metadata_buffer(
                &self,
            ) -> ::planus::Result<::core::option::Option<::planus::Vector<'a, i32>>> {
                self.0.access(5, "Model", "metadata_buffer")
            }

            /// Getter for the [`metadata` field](Model#structfield.metadata).
            #[inline]
            pub fn metadata(
                &self,
            ) -> ::planus::Result<
                ::core::option::Option<
                    ::planus::Vector<'a, ::planus::Result<self::MetadataRef<'a>>>,
                >,
            > {
                self.0.access(6, "Model", "metadata")
            }

            /// Getter for the [`external_buffer_groups` field](Model#structfield.external_buffer_groups).
            #[inline]
            pub fn external_buffer_groups(
                &self,
            ) -> ::planus::Result<
                ::core::option::Option<
                    ::planus::Vector<'a, ::planus::Result<self::ExternalBufferGroupRef<'a>>>,
                >,
            > {
                self.0.access(8, "Model", "external_buffer_groups")
            }

            /// Getter for the [`external_buffers` field](Model#structfield.external_buffers).
            #[inline]
            pub fn external_buffers(
                &self,
            ) -> ::planus::Result<
                ::core::option::Option<
                    ::planus::Vector<'a, ::planus::Result<self::ExternalBufferRef<'a>>>,
                >,
            > {
                self.0.access(9, "Model", "external_buffers")
            }
        }

        impl<'a> ::core::fmt::Debug for ModelRef<'a> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut f = f.debug_struct("ModelRef");
                f.field("version", &self.version());
                if let ::core::option::Option::Some(field_subgraphs) = self.subgraphs().transpose()
                {
                    f.field("subgraphs", &field_subgraphs);
                }
                if let ::core::option::Option::Some(field_description) =
                    self.description().transpose()
                {
                    f.field("description", &field_description);
                }
                if let ::core::option::Option::Some(field_buffers) = self.buffers().transpose() {
                    f.field("buffers", &field_buffers);
                }
                if let ::core::option::Option::Some(field_metadata_buffer) =
                    self.metadata_buffer().transpose()
                {
                    f.field("metadata_buffer", &field_metadata_buffer);
                }
                if let ::core::option::Option::Some(field_metadata) = self.metadata().transpose() {
                    f.field("metadata", &field_metadata);
                }
                if let ::core::option::Option::Some(field_external_buffer_groups) =
                    self.external_buffer_groups().transpose()
                {
                    f.field("external_buffer_groups", &field_external_buffer_groups);
                }
                if let ::core::option::Option::Some(field_external_buffers) =
                    self.external_buffers().transpose()
                {
                    f.field("external_buffers", &field_external_buffers);
                }
                f.finish()
            }
        }

        impl<'a> ::core::convert::TryFrom<ModelRef<'a>> for Model {
            type Error = ::planus::Error;

            #[allow(unreachable_code)]
            fn try_from(value: ModelRef<'a>) -> ::planus::Result<Self> {
                ::core::result::Result::Ok(Self {
                    version: ::core::convert::TryInto::try_into(value.version()?)?,
                    subgraphs: if let ::core::option::Option::Some(subgraphs) = value.subgraphs()? {
                        ::core::option::Option::Some(subgraphs.to_vec_result()?)
                    } else {
                        ::core::option::Option::None
                    },
                    description: value.description()?.map(::core::convert::Into::into),
                    buffers: if let ::core::option::Option::Some(buffers) = value.buffers()? {
                        ::core::option::Option::Some(buffers.to_vec_result()?)
                    } else {
                        ::core::option::Option::None
                    },
                    metadata_buffer: if let ::core::option::Option::Some(metadata_buffer) =
                        value.metadata_buffer()?
                    {
                        ::core::option::Option::Some(metadata_buffer.to_vec()?)
                    } else {
                        ::core::option::Option::None
                    },
                    metadata: if let ::core::option::Option::Some(metadata) = value.metadata()? {
                        ::core::option::Option::Some(metadata.to_vec_result()?)
                    } else {
                        ::core::option::Option::None
                    },
                    external_buffer_groups: if let ::core::option::Option::Some(
                        external_buffer_groups,
                    ) = value.external_buffer_groups()?
                    {
                        ::core::option::Option::Some(external_buffer_groups.to_vec_result()?)
                    } else {
                        ::core::option::Option::None
                    },
                    external_buffers: if let ::core::option::Option::Some(external_buffers) =
                        value.external_buffers()?
                    {
                        ::core::option::Option::Some(external_buffers.to_vec_result()?)
                    } else {
                        ::core::option::Option::None
                    },
                })
            }
        }

        impl<'a> ::planus::TableRead<'a> for ModelRef<'a> {
            #[inline]
            fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::core::result::Result<Self, ::planus::errors::ErrorKind> {
                ::core::result::Result::Ok(Self(::planus::table_reader::Table::from_buffer(
                    buffer, offset,
                )?))
            }
        }

        impl<'a> ::planus::VectorReadInner<'a> for ModelRef<'a> {
            type Error = ::planus::Error;
            const STRIDE: usize = 4;

            unsafe fn from_buffer(
                buffer: ::planus::SliceWithStartOffset<'a>,
                offset: usize,
            ) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(buffer, offset).map_err(|error_kind| {
                    error_kind.with_error_location("[ModelRef]", "get", buffer.offset_from_start)
                })
            }
        }

        /// # Safety
        /// The planus compiler generates implementations that initialize
        /// the bytes in `write_values`.
        unsafe impl ::planus::VectorWrite<::planus::Offset<Model>> for Model {
            type Value = ::planus::Offset<Model>;
            const STRIDE: usize = 4;
            #[inline]
            fn prepare(&self, builder: &mut ::planus::Builder) -> Self::Value {
                ::planus::WriteAs::prepare(self, builder)
            }

            #[inline]
            unsafe fn write_values(
                values: &[::planus::Offset<Model>],
                bytes: *mut ::core::mem::MaybeUninit<u8>,
                buffer_position: u32,
            ) {
                let bytes = bytes as *mut [::core::mem::MaybeUninit<u8>; 4];
                for (i, v) in ::core::iter::Iterator::enumerate(values.iter()) {
                    ::planus::WriteAsPrimitive::write(
                        v,
                        ::planus::Cursor::new(unsafe { &mut *bytes.add(i) }),
                        buffer_position - (Self::STRIDE * i) as u32,
                    );
                }
            }
        }

        impl<'a> ::planus::ReadAsRoot<'a> for ModelRef<'a> {
            fn read_as_root(slice: &'a [u8]) -> ::planus::Result<Self> {
                ::planus::TableRead::from_buffer(
                    ::planus::SliceWithStartOffset {
                        buffer: slice,
                        offset_from_start: 0,
                    },
                    0,
                )
                .map_err(|error_kind| {
                    error_kind.with_error_location("[ModelRef]", "read_as_root", 0)
                })
            }
        }
    }
}
